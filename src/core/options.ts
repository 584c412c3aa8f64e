import { existsSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import path, { basename, dirname, join, resolve } from 'node:path'
import { parseDuration } from './duration.ts'
import { InputError } from './errors.ts'
import { CLI_VERSION_V2, CLI_VERSION_V3 } from './cli-install/release.ts'
import type { BasicUser } from './credential.ts'
import type { Naming } from './naming.ts'
import { expandHome, isOtherUsersHome, isWithin } from './platform-paths.ts'

/**
 * The rules every front end applies to its options (the action's inputs, the command's flags),
 * so that a value means the same and is refused with the same sentence in both; only the names in
 * the sentence differ (naming.ts).
 */

const RACK_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * A key as given: line breaks around it are dropped (a file or a pipe ends with one), any other
 * control character is refused, since no CLI could send it.
 */
export function cleanKey(raw: string, name: string, naming: Naming, fix: string): string {
  const key = raw.replace(/^[\r\n]+|[\r\n]+$/g, '')
  if (/[\x00-\x1f\x7f]/.test(key)) {
    throw new InputError(
      `${naming.subject(name)} contains a line break or another control character: ${fix}.`
    )
  }
  return key
}

/** YAML 1.2 core booleans, as @actions/core's getBooleanInput; an empty value takes the default. */
export function parseBoolean(raw: string, name: string, fallback: boolean, naming: Naming): boolean {
  const value = raw.trim()
  if (value === '') return fallback
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw new InputError(`${naming.subject(name)} "${value}" is not a boolean: use true or false.`)
}

/** `''`, `org/rack` or a bare rack name. */
export function parseRack(value: string, naming: Naming): string {
  if (value === '') return ''
  const parts = value.split('/')
  if (parts.length > 2 || !parts.every(part => RACK_PART.test(part))) {
    throw new InputError(
      `${naming.subject('rack')} "${value}" is not a rack name: use <org>/<rack> (such as acme/production) or a bare rack name.`
    )
  }
  return value
}

export interface ConfigDirContext {
  home: string
  /** The CI's checkout: settings written under it could be checked in or uploaded. */
  workspace?: string
}

/** An absolute path; `~` is the home directory (platform-paths.ts); `~/.convox` when empty. */
export function parseConfigDir(value: string, context: ConfigDirContext, naming: Naming): string {
  const raw = value || '~/.convox'
  if (isOtherUsersHome(raw, path)) {
    throw new InputError(
      `${naming.subject('config-dir')} "${raw}" starts with ~user, which is not expanded here: give an absolute path, or ~/ for this job's home.`
    )
  }
  const dir = resolve(expandHome(raw, context.home || homedir(), path))
  const workspace = context.workspace ? realPath(resolve(context.workspace)) : undefined
  if (workspace && isWithin(realPath(dir), workspace, path, process.platform)) {
    throw new InputError(
      `${naming.subject('config-dir')} "${raw}" is inside the workspace, where a later step could commit or upload the key: ` +
        `use a directory outside it, such as ${naming.example('config-dir')}.`
    )
  }
  return dir
}

/**
 * The path with every symbolic link resolved, as far as it exists: a link in the workspace that
 * points out of it, or one outside pointing in, is judged by where the files would really go.
 */
function realPath(path: string): string {
  let existing = path
  const rest: string[] = []
  while (!existsSync(existing) && dirname(existing) !== existing) {
    rest.unshift(basename(existing))
    existing = dirname(existing)
  }
  try {
    return join(realpathSync(existing), ...rest)
  } catch {
    return path
  }
}

/** A PEM certificate to trust, or none; not together with insecure. */
export function checkTrust(caCert: string, insecure: boolean, naming: Naming): void {
  if (caCert && !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caCert)) {
    throw new InputError(
      `${naming.subject('ca-cert')} is not a PEM certificate: give the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.`
    )
  }
  if (caCert && insecure) {
    throw new InputError(
      `Both ${naming.ref('ca-cert')} and ${naming.ref('insecure')} are set: trust the CA with ${naming.ref('ca-cert')}, ` +
        `or skip verification with ${naming.ref('insecure')}, not both.`
    )
  }
}

export function parseRetryFor(raw: string, naming: Naming): number {
  return parseDuration(raw || '60s', naming.subject('retry-for'))
}

export function parseKeyrollTimeout(raw: string, naming: Naming): number {
  const ms = parseDuration(raw || '30m', naming.subject('keyroll-timeout'))
  if (ms <= 0)
    throw new InputError(
      `${naming.subject('keyroll-timeout')} is zero: give the rack time to apply the key, such as 30m.`
    )
  return ms
}

/** `''` (install nothing), `latest`, a v3 version `3.x.y` or a v2 timestamp. */
export function checkCliVersion(version: string, naming: Naming): void {
  if (version && version !== 'latest' && !CLI_VERSION_V3.test(version) && !CLI_VERSION_V2.test(version)) {
    throw new InputError(
      `${naming.subject('cli-version')} "${version}" is not a Convox CLI version: use latest, a v3 version such as 3.24.9 (without v), ` +
        'or a v2 version such as 20240101000000.'
    )
  }
}

/** A mirror's URL template (release.ts), which needs a version to fill in. */
export function checkCliDownloadUrl(url: string, version: string, naming: Naming): void {
  if (!url) return
  if (!version) {
    throw new InputError(
      `${naming.ref('cli-download-url')} is set without ${naming.ref('cli-version')}: set ${naming.ref('cli-version')} too (latest, 3.24.9 or 20240101000000).`
    )
  }
  if (!/^https?:\/\/[^\s]+$/.test(url) || !url.includes('{asset}') || !url.includes('{version}')) {
    throw new InputError(
      `${naming.subject('cli-download-url')} "${url}" is not a URL template: use https://mirror.example.com/convox/{version}/{asset}.`
    )
  }
}

/** The keyroll's (or the token store's) GitHub Actions secret: GitHub's rules for a name (GITHUB_ is reserved). */
export function checkGitHubSecretName(name: string, naming: Naming, option = 'update-secret'): void {
  if (!SECRET_NAME.test(name) || /^GITHUB_/i.test(name)) {
    throw new InputError(
      `${naming.subject(option)} "${name}" is not a valid secret name: use letters, digits and _, not starting with a digit or GITHUB_.`
    )
  }
}

/**
 * A keyroll changes the rack password; a rack access token is not that password, so rolling it is
 * refused while the options are read, before anything is sent or written.
 */
export function checkKeyrollKey(user: BasicUser, naming: Naming): void {
  if (user !== 'jwt') return
  throw new InputError(
    `${naming.set('keyroll', 'true')} cannot roll a rack access token: it is not the rack password. A token ends by ` +
      'itself at its expiresAt, or with all others by convox rack access key rotate; log in with the rack password ' +
      `to roll that, or use ${naming.set('keyroll', 'false')}.`
  )
}
