import { existsSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve, sep } from 'node:path'
import type { Credential } from '../core/credential.ts'
import { parseRackUrl, recogniseCredential } from '../core/credential.ts'
import { parseDuration } from '../core/duration.ts'
import { InputError } from '../core/errors.ts'
import { normaliseHost, PUBLIC_CONSOLE_HOST } from '../core/host.ts'
import { CLI_VERSION_V2, CLI_VERSION_V3 } from '../core/cli-install/release.ts'

/**
 * Every input of the action, typed and checked in one place. Nothing else reads inputs, and
 * parsing happens before anything is sent or written, so bad input changes nothing.
 */
export interface Inputs {
  /** Normalised: no scheme, lower-case, port kept unless 443. */
  host: string
  /** The secret of `credential`: the key itself, from `password` or `rack-url`. */
  password: string
  /** What the key is (a password or a rack access token) and its Basic user name. */
  credential: Credential
  /** The `actor` input: `''` (derive it from the run), `none`, or the actor to send. */
  actor: string
  /** `''`, `org/rack` or a bare rack name. */
  rack: string
  validate: boolean
  /** Absolute path. */
  configDir: string
  exportEnv: boolean
  logout: boolean
  caCert: string
  insecure: boolean
  retryForMs: number
  keyroll: boolean
  keyrollTimeoutMs: number
  passwordNext: string
  updateSecret: string
  updateSecretEnvironment: string
  githubToken: string
  /** `''` (install nothing), `latest`, a v3 version `3.x.y` or a v2 timestamp. */
  cliVersion: string
  cliDownloadUrl: string
  cliToken: string
}

/** Returns an input's raw value, `''` when it was not given. */
export type InputGetter = (name: string) => string

export interface InputContext {
  home: string
  /** GITHUB_WORKSPACE: settings written under it could be checked in or uploaded. */
  workspace?: string
}

const RACK_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function parseInputs(get: InputGetter, context: InputContext): Inputs {
  const text = (name: string) => get(name).trim()

  const { host, credential } = parseCredential(get)
  const rack = parseRack(text('rack'))
  const validate = parseBoolean(get, 'validate', true)
  const caCert = get('ca-cert').trim()
  const insecure = parseBoolean(get, 'insecure', false)
  if (caCert && !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caCert)) {
    throw new InputError(
      'The ca-cert input is not a PEM certificate: give the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.'
    )
  }
  if (caCert && insecure) {
    throw new InputError(
      'Both ca-cert and insecure are set: trust the CA with ca-cert, or skip verification with insecure, not both.'
    )
  }

  const keyroll = parseBoolean(get, 'keyroll', false)
  const passwordNext = get('password-next').trim()
  const updateSecret = text('update-secret')
  const updateSecretEnvironment = text('update-secret-environment')
  const githubToken = get('github-token').trim()
  if (keyroll && !validate) {
    throw new InputError(
      'keyroll needs the API, but validate is false: remove validate: false to roll the key.'
    )
  }
  if (!keyroll) {
    for (const name of ['password-next', 'update-secret', 'update-secret-environment'] as const) {
      if (get(name).trim())
        throw new InputError(
          `The ${name} input is only used with keyroll: true: remove it or set keyroll: true.`
        )
    }
  }
  if (updateSecret) {
    if (!SECRET_NAME.test(updateSecret) || /^GITHUB_/i.test(updateSecret)) {
      throw new InputError(
        `The update-secret input "${updateSecret}" is not a valid secret name: use letters, digits and _, not starting with a digit or GITHUB_.`
      )
    }
    if (!githubToken) {
      throw new InputError(
        'update-secret needs a github-token that may write Actions secrets: pass a fine-grained token or a GitHub App token.'
      )
    }
  } else if (updateSecretEnvironment) {
    throw new InputError(
      'update-secret-environment is set without update-secret: name the secret to update in update-secret.'
    )
  }

  const cliVersion = text('cli-version')
  const cliDownloadUrl = text('cli-download-url')
  if (
    cliVersion &&
    cliVersion !== 'latest' &&
    !CLI_VERSION_V3.test(cliVersion) &&
    !CLI_VERSION_V2.test(cliVersion)
  ) {
    throw new InputError(
      `The cli-version input "${cliVersion}" is not a Convox CLI version: use latest, a v3 version such as 3.24.9 (without v), ` +
        'or a v2 version such as 20240101000000.'
    )
  }
  if (cliDownloadUrl) {
    if (!cliVersion) {
      throw new InputError(
        'cli-download-url is set without cli-version: set cli-version too (latest, 3.24.9 or 20240101000000).'
      )
    }
    if (
      !/^https?:\/\/[^\s]+$/.test(cliDownloadUrl) ||
      !cliDownloadUrl.includes('{asset}') ||
      !cliDownloadUrl.includes('{version}')
    ) {
      throw new InputError(
        `The cli-download-url input "${cliDownloadUrl}" is not a URL template: use https://mirror.example.com/convox/{version}/{asset}.`
      )
    }
  }

  return {
    host,
    password: credential.secret,
    credential,
    actor: text('actor'),
    rack,
    validate,
    configDir: parseConfigDir(text('config-dir'), context),
    exportEnv: parseBoolean(get, 'export-env', true),
    logout: parseBoolean(get, 'logout', true),
    caCert,
    insecure,
    retryForMs: parseDuration('retry-for', text('retry-for') || '60s'),
    keyroll,
    keyrollTimeoutMs: parseKeyrollTimeout(text('keyroll-timeout')),
    passwordNext,
    updateSecret,
    updateSecretEnvironment,
    githubToken,
    cliVersion,
    cliDownloadUrl,
    cliToken: get('cli-token').trim()
  }
}

/** The key and its host: `password` (with `host`, Console by default) or `rack-url`, exactly one. */
function parseCredential(get: InputGetter): { host: string; credential: Credential } {
  const password = get('password').replace(/^[\r\n]+|[\r\n]+$/g, '')
  const rackUrl = get('rack-url').trim()
  const hostInput = get('host').trim()
  if (rackUrl) {
    if (password.trim() !== '') {
      throw new InputError(
        'Both password and rack-url are set: give the key one way, rack-url (the whole RACK_URL) or host and password.'
      )
    }
    const parsed = parseRackUrl(rackUrl)
    // Console is the host's default only without rack-url, which names its own host.
    if (hostInput && normaliseHost(hostInput) !== parsed.host) {
      throw new InputError(
        `The host input names ${normaliseHost(hostInput)}, but rack-url names ${parsed.host}: remove host, or make the two agree.`
      )
    }
    return parsed
  }
  if (password.trim() === '') {
    throw new InputError(
      'The password input is empty, and rack-url is not set: pass the key from a secret (password: ${{ secrets.CONVOX_PASSWORD }}) ' +
        "or a rack's whole RACK_URL (rack-url: ${{ secrets.RACK_URL }}); if it is set, " +
        'note that GitHub does not pass secrets to workflows run from forks or by Dependabot.'
    )
  }
  if (/[\x00-\x1f\x7f]/.test(password)) {
    throw new InputError(
      'The password input contains a line break or another control character: store the key in the secret on one line.'
    )
  }
  const credential = recogniseCredential(password)
  const host = normaliseHost(hostInput || PUBLIC_CONSOLE_HOST)
  if (credential.kind === 'token' && !hostInput) {
    throw new InputError(
      `The password input is a rack access token, which only its rack accepts, but host is empty (so ${PUBLIC_CONSOLE_HOST}): ` +
        "set host to the rack's host, or pass the whole RACK_URL in rack-url instead of password."
    )
  }
  return { host, credential }
}

function parseKeyrollTimeout(raw: string): number {
  const ms = parseDuration('keyroll-timeout', raw || '30m')
  if (ms <= 0)
    throw new InputError(
      'The keyroll-timeout input is zero: give the rack time to apply the key, such as 30m.'
    )
  return ms
}

/** YAML 1.2 core booleans, as @actions/core's getBooleanInput; an empty value takes the default. */
function parseBoolean(get: InputGetter, name: string, fallback: boolean): boolean {
  const value = get(name).trim()
  if (value === '') return fallback
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw new InputError(`The ${name} input "${value}" is not a boolean: use true or false.`)
}

function parseRack(value: string): string {
  if (value === '') return ''
  const parts = value.split('/')
  if (parts.length > 2 || !parts.every(part => RACK_PART.test(part))) {
    throw new InputError(
      `The rack input "${value}" is not a rack name: use <org>/<rack> (such as acme/production) or a bare rack name.`
    )
  }
  return value
}

function parseConfigDir(value: string, context: InputContext): string {
  const raw = value || '~/.convox'
  if (/^~[^/]/.test(raw)) {
    // A shell would look the user up in the password database, which Node cannot read.
    throw new InputError(
      `The config-dir input "${raw}" starts with ~user, which is not expanded here: give an absolute path, or ~/ for this job's home.`
    )
  }
  const expanded = raw === '~' || raw.startsWith('~/') ? join(context.home || homedir(), raw.slice(1)) : raw
  const dir = resolve(expanded)
  const workspace = context.workspace ? realPath(resolve(context.workspace)) : undefined
  const real = realPath(dir)
  if (workspace && (real === workspace || real.startsWith(workspace + sep))) {
    throw new InputError(
      `The config-dir input "${raw}" is inside the workspace, where a later step could commit or upload the key: ` +
        'use a directory outside it, such as ${{ runner.temp }}/convox.'
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
