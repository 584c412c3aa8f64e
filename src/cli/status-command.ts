import { resolve } from 'node:path'
import { realClock } from '../core/clock.ts'
import type { BasicUser } from '../core/credential.ts'
import { parseRackUrl } from '../core/credential.ts'
import { ConvoxError, InputError } from '../core/errors.ts'
import { parseJson } from '../core/http/json.ts'
import { checkLogin } from '../core/login.ts'
import { checkTrust, parseConfigDir, parseRack, parseRetryFor } from '../core/options.ts'
import { redact } from '../core/secrets.ts'
import { parseKeyed, readRegular } from '../core/settings/files.ts'
import type { Flags } from './args.ts'
import { FLAG_NAMING, UsageError } from './args.ts'
import { cliLog } from './log.ts'
import type { Context } from './options.ts'
import { namingOf } from './options.ts'
import { readText } from './flag-files.ts'
import type { Source, SettingsView, StatusEnv } from './status.ts'
import { renderStatus, resolveStatus } from './status.ts'
import { defaultStateFile, readLogins } from './state-file.ts'

/**
 * convox-login status: which login the settings and the environment point the Convox CLIs to, and
 * whether an undo record exists; with --validate, what the API says of it. It writes nothing and
 * prints no form of any key (every line is redacted of all the keys it knows). Exit 0 logged in,
 * 1 not (or the API refused), 2 the command line is wrong.
 */

interface StatusSettings {
  configDir: Source
  stateFile: string
  validate: boolean
  caCert: string
  insecure: boolean
  retryForMs: number
}

const text = (flags: Flags, name: string): string => {
  const value = flags[name]
  return typeof value === 'string' ? value.trim() : ''
}

function statusSettings(flags: Flags, ctx: Context): StatusSettings {
  try {
    const given = text(flags, 'config-dir')
    const fromEnv = (ctx.env.CONVOX_CONFIG ?? '').trim()
    const dir = parseConfigDir(given || fromEnv, { home: ctx.home }, namingOf(ctx))
    const from = given
      ? '--config-dir'
      : fromEnv
        ? 'CONVOX_CONFIG'
        : "convox-login's default; without CONVOX_CONFIG the v3 CLI reads ~/.config/convox instead"
    const caCertFile = text(flags, 'ca-cert-file')
    const caCert = caCertFile ? readText(resolve(ctx.cwd, caCertFile), '--ca-cert-file').trim() : ''
    const insecure = flags.insecure === true
    checkTrust(caCert, insecure, namingOf(ctx))
    const stateFile = text(flags, 'state-file')
    return {
      configDir: { value: dir, from, over: [] },
      stateFile: stateFile ? resolve(ctx.cwd, stateFile) : defaultStateFile(dir, ctx.env, ctx.home),
      validate: flags.validate === true,
      caCert,
      insecure,
      retryForMs: parseRetryFor(text(flags, 'retry-for'), namingOf(ctx))
    }
  } catch (error) {
    if (error instanceof InputError && !(error instanceof UsageError))
      throw new UsageError(error.message, 'status')
    throw error
  }
}

/** The settings files, with the keys kept apart: `view` has only the hosts that have one. */
function readSettings(dir: string): { view: SettingsView; keys: Record<string, string> } {
  const read = (name: string) => readRegular(resolve(dir, name))?.trim() || undefined
  const keys = parseKeyed(resolve(dir, 'auth'), readRegular(resolve(dir, 'auth')))
  const current = read('current')
  const currentName = current ? (parseJson(current) as { name?: unknown } | undefined)?.name : undefined
  return {
    keys,
    view: {
      console: read('console'),
      host: read('host'),
      authHosts: Object.keys(keys),
      racks: parseKeyed(resolve(dir, 'racks'), readRegular(resolve(dir, 'racks'))),
      rack: read('rack'),
      current: typeof currentName === 'string' ? currentName : undefined
    }
  }
}

/** RACK_URL's host and user; its key for --validate. Refused in our own words: the value is a secret. */
function readRackUrl(raw: string | undefined): { host: string; user: BasicUser; secret: string } | undefined {
  if (!raw?.trim()) return undefined
  try {
    const { host, credential } = parseRackUrl(raw.trim(), FLAG_NAMING)
    return { host, user: credential.user, secret: credential.secret }
  } catch {
    throw new ConvoxError(
      'RACK_URL is set but is not https://convox:<password>@<host> or https://jwt:<token>@<host>: the Convox CLIs cannot use it either; fix or unset it.'
    )
  }
}

export async function status(
  flags: Flags,
  ctx: Context,
  out: (text: string) => void,
  err: (text: string) => void
): Promise<number> {
  const settings = statusSettings(flags, ctx)
  const log = cliLog(err)
  const { env } = ctx
  try {
    const rackUrl = readRackUrl(env.RACK_URL)
    const password = (env.CONVOX_PASSWORD ?? '').trim()
    const { view, keys } = readSettings(settings.configDir.value)
    for (const key of [rackUrl?.secret, password, ...Object.values(keys)]) if (key) log.secret(key)
    const statusEnv: StatusEnv = {
      rackUrl: rackUrl && { host: rackUrl.host, user: rackUrl.user },
      convoxHost: (env.CONVOX_HOST ?? '').trim() || undefined,
      hasPassword: password !== '',
      convoxRack: (env.CONVOX_RACK ?? '').trim() || undefined
    }
    const found = resolveStatus(statusEnv, view)
    const logins = readLogins(settings.stateFile).logins.length
    const undo =
      logins > 0
        ? `${logins} login${logins > 1 ? 's' : ''} recorded in ${settings.stateFile}: convox-login logout undoes the last`
        : `none (${settings.stateFile})`

    let kind: string | undefined
    let code = found.host && found.key ? 0 : 1
    if (settings.validate && found.host && found.key) {
      const host = found.host.value
      const key = rackUrl?.secret ?? (password || keys[host]!)
      const rack = found.kind === 'rack' ? '' : rackOrNone(found.rack?.value)
      try {
        const result = await checkLogin({
          host,
          password: key,
          user: rackUrl?.user ?? 'convox',
          rack,
          configDir: settings.configDir.value,
          connection: { caCert: settings.caCert || undefined, insecure: settings.insecure, proxyEnv: env },
          retryForMs: settings.retryForMs,
          clock: realClock,
          log,
          naming: namingOf(ctx)
        })
        kind = `${result.kind}, checked: ${result.checked.join('; ')}`
      } catch (error) {
        if (!(error instanceof ConvoxError)) throw error
        kind = `not confirmed: ${error.message}`
        code = 1
      }
    }
    out(redact(renderStatus(found, { configDir: settings.configDir, kind, undo }), log.forms))
    err(
      redact(
        code === 0
          ? `Logged in to ${found.host!.value}${settings.validate ? '' : ' (the key is not checked: --validate asks the API)'}.\n`
          : found.host && found.key
            ? `Not logged in: ${found.host.value} did not accept the key.\n`
            : 'Not logged in: run convox-login login, or set CONVOX_HOST and CONVOX_PASSWORD (or RACK_URL).\n',
        log.forms
      )
    )
    return code
  } catch (error) {
    if (!(error instanceof ConvoxError)) throw error
    err(`convox-login: ${redact(error.message, log.forms)}\n`)
    return 1
  }
}

/** A rack the files name, as a login would take it; one that is not a rack name is left out. */
function rackOrNone(value: string | undefined): string {
  try {
    return parseRack(value ?? '', FLAG_NAMING)
  } catch {
    return ''
  }
}
