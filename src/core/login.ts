import type { ConnectionOptions } from './api.ts'
import { ConvoxApi } from './api.ts'
import type { Clock } from './clock.ts'
import { formatDuration } from './clock.ts'
import type { BasicUser } from './credential.ts'
import { ConvoxError } from './errors.ts'
import { PUBLIC_CONSOLE_HOST } from './host.ts'
import type { Log } from './log.ts'
import type { Naming } from './naming.ts'
import { rackUrl, secretForms } from './secrets.ts'
import { join } from 'node:path'
import { readRegular } from './settings/files.ts'
import type { Journal } from './settings/journal.ts'
import type { Edit } from './settings/settings.ts'
import { checkSettings, writeSettings } from './settings/settings.ts'
import { protectionNote } from './settings/modes.ts'
import type { ApiContext, HostKind, SystemInfo } from './validate.ts'
import { identify, listConsoleRacks, RejectedKeyError, resolveRack, systemInfo } from './validate.ts'

export interface LoginOptions {
  host: string
  password: string
  /** The Basic user name `password` goes with: `jwt` for a rack access token; `convox` when omitted. */
  user?: BasicUser
  /** The audit actor sent with every request (`X-Convox-Actor`); none when empty. */
  actor?: string
  /** `''`, `org/rack` or a bare rack name. */
  rack: string
  validate: boolean
  configDir: string
  connection: ConnectionOptions
  retryForMs: number
  clock: Clock
  log: Log
  /** How the front end names its options, for every sentence below. */
  naming: Naming
  /** Receives the record of every file change, for the post step. */
  journal: Journal
  /** Saves the journal before the settings are written (writeSettings' beforeWrite). */
  saveJournal?: (journal: Journal) => void
  /**
   * The last say on what the API found, before anything is written: a refusal here (a keyroll
   * or a rotation the host would refuse) leaves the settings directory as it was.
   */
  beforeWrite?: (result: LoginResult, api: ConvoxApi | undefined) => Promise<void>
  /**
   * Trades the validated key for the one later steps get (a job token, tokens/mint.ts), before
   * anything is written: a refusal there changes nothing.
   */
  exchange?: (api: ConvoxApi, result: LoginResult) => Promise<Exchange>
}

/** The key the settings and later steps get instead of the login's own. */
export interface Exchange {
  password: string
  user: BasicUser
  result: LoginResult
}

export interface LoginResult {
  host: string
  kind: HostKind
  /** `org/rack` after a Console switch; the rack's name on a Rack host; empty otherwise. */
  rack: string
  rackVersion: string
  rackStatus: string
  rackProvider: string
  userId: string
  configDir: string
  /** Human-readable list of what the API confirmed, for the log and the job summary. */
  checked: string[]
}

export interface Login {
  result: LoginResult
  /** Open client for follow-up work (keyroll); undefined when validate is false. Close it. */
  api?: ConvoxApi
  /** The key written and handed over: the login's own, or what `exchange` gave for it. */
  handed: { password: string; user: BasicUser }
}

/**
 * Logs in: checks the existing settings, asks the API who this key is (unless validate is
 * false), switches to the Console rack, then writes the settings. Nothing is written until every
 * check has passed, so a failure leaves the settings directory as it was.
 */
export async function login(options: LoginOptions): Promise<Login> {
  const { host, password, log } = options
  checkSettings(options.configDir, options.naming)
  let result: LoginResult
  let api: ConvoxApi | undefined
  let handed = { password, user: options.user ?? 'convox' }
  if (options.validate) {
    api = ConvoxApi.create(host, password, options.connection, { user: options.user, actor: options.actor })
    try {
      result = await validatedLogin(options, {
        api,
        retry: { budgetMs: options.retryForMs, clock: options.clock, log },
        secrets: secretForms(password, host),
        naming: options.naming
      })
      if (options.exchange) {
        const exchanged = await options.exchange(api, result)
        result = exchanged.result
        handed = { password: exchanged.password, user: exchanged.user }
      }
    } catch (error) {
      api.close()
      throw error
    }
  } else {
    result = unvalidatedLogin(options)
  }
  try {
    await options.beforeWrite?.(result, api)
    const edits = settingsEdits(result, handed.password, handed.user)
    await log.group(`Log in: write the CLI settings in ${options.configDir}`, async () => {
      const written = writeSettings(edits, options.journal, log, options.naming, options.saveJournal)
      // A file an edit changes only if present (a v2 racks file) held nothing when it is absent.
      const unchanged = [
        ...new Set(
          edits
            .filter(
              e => e.value !== null && !('ifPresent' in e && !settingsFileExists(options.configDir, e.file))
            )
            .map(e => e.file)
        )
      ].filter(file => !written.includes(file))
      log.info(
        [
          written.length > 0 && `Wrote ${written.join(', ')}.`,
          unchanged.length > 0 && `${unchanged.join(', ')} already held these settings.`
        ]
          .filter(Boolean)
          .join(' ')
      )
      const note = written.length > 0 && protectionNote(process.platform, options.configDir)
      if (note) log.info(note)
    })
  } catch (error) {
    api?.close()
    throw error
  }
  return { result, api, handed }
}

/** A settings file that holds a value (v3's racks directory holds none of ours). */
function settingsFileExists(dir: string, file: string): boolean {
  return readRegular(join(dir, file)) !== undefined
}

/**
 * What a login would find, asked of the API and nothing written: `convox-login status --validate`.
 * The same requests and sentences as a login's validation.
 */
export async function checkLogin(
  options: Omit<LoginOptions, 'journal' | 'saveJournal' | 'beforeWrite' | 'exchange' | 'validate'>
): Promise<LoginResult> {
  const { host, password, log } = options
  const api = ConvoxApi.create(host, password, options.connection, {
    user: options.user,
    actor: options.actor
  })
  try {
    return await validatedLogin(options, {
      api,
      retry: { budgetMs: options.retryForMs, clock: options.clock, log },
      secrets: secretForms(password, host),
      naming: options.naming
    })
  } finally {
    api.close()
  }
}

async function validatedLogin(
  options: Pick<LoginOptions, 'host' | 'log' | 'rack' | 'configDir' | 'naming' | 'clock' | 'retryForMs'>,
  ctx: ApiContext
): Promise<LoginResult> {
  const { host, log } = options
  const identity = await log.group(`Validate the key on ${host}`, async () => {
    const found = await identify(ctx)
    log.info(
      `${host} is a ${found.kind === 'console' ? 'Console' : 'Rack'}; the key works (${found.checked}).`
    )
    return found
  })
  const checked = [identity.checked]
  let rack = ''
  let system: SystemInfo | undefined
  if (identity.kind === 'console' && options.rack) {
    ;[rack, system] = await log.group(`Switch to rack ${options.rack}`, async () => {
      const name = resolveRack(host, options.rack, await listConsoleRacks(ctx), options.naming)
      const info = await systemThroughConsole(ctx, name, options)
      log.info(`Switched to ${name}: ${info.status}, version ${info.version} on ${info.provider}.`)
      return [name, info] as const
    })
    checked.push(`rack ${rack} through Console (GET /system)`)
  } else if (identity.kind === 'rack') {
    system = await log.group(`Check the rack on ${host}`, async () => {
      const info = await systemInfo(ctx)
      log.info(`Rack ${info.name}: ${info.status}, version ${info.version} on ${info.provider}.`)
      return info
    })
    checked.push(`rack ${system.name} (GET /system)`)
    const expected = options.rack.split('/').pop()
    if (expected && system.name !== expected) {
      throw new ConvoxError(
        `${host} is the rack "${system.name}", not "${options.rack}": check ${options.naming.the('host', 'rack')}.`
      )
    }
    rack = system.name
  }
  return {
    host,
    kind: identity.kind,
    rack,
    rackVersion: system?.version ?? '',
    rackStatus: system?.status ?? '',
    rackProvider: system?.provider ?? '',
    userId: identity.userId,
    configDir: options.configDir,
    checked
  }
}

/** How long to wait before asking Console's proxy again after the rack refused it. */
const PROXY_REFUSED_RETRY_MS = 2000

/**
 * `GET /system` through Console, which has just accepted the key: a 401 here is the rack refusing
 * Console's copy of its password, as while Console rotates it and the rack's API restarts (a run
 * after one cut short finds it so). Asked again within retry-for, then said as it is.
 */
async function systemThroughConsole(
  ctx: ApiContext,
  rack: string,
  options: Pick<LoginOptions, 'clock' | 'log' | 'retryForMs'>
): Promise<SystemInfo> {
  const { clock, log } = options
  const start = clock.now()
  for (;;) {
    try {
      return await systemInfo(ctx, rack)
    } catch (error) {
      if (!(error instanceof RejectedKeyError) || clock.now() - start >= options.retryForMs) throw error
      const delay = PROXY_REFUSED_RETRY_MS + Math.floor(clock.random() * 1000)
      log.info(
        `${rack} refused Console's request (401), as it does while its API restarts; asking again in ${formatDuration(delay)}.`
      )
      await clock.sleep(delay)
    }
  }
}

/**
 * Without requests the kind is inferred: an `org/rack` or the public Console host means Console.
 * A bare rack name cannot be resolved without asking Console, so it is taken as a Rack's name.
 */
function unvalidatedLogin(options: LoginOptions): LoginResult {
  const { naming } = options
  const kind: HostKind =
    options.rack.includes('/') || options.host === PUBLIC_CONSOLE_HOST ? 'console' : 'rack'
  if (kind === 'console' && options.rack && !options.rack.includes('/')) {
    throw new ConvoxError(
      `With ${naming.set('validate', 'false')} the rack "${options.rack}" cannot be looked up on ${options.host}: ` +
        `give it as <org>/<rack>, or let ${naming.self} validate.`
    )
  }
  options.log.info(
    `${naming.given('validate', 'false')}: writing the settings for ${options.host} (taken as a ${kind}) without checking the key.`
  )
  return {
    host: options.host,
    kind,
    rack: options.rack,
    rackVersion: '',
    rackStatus: '',
    rackProvider: '',
    userId: '',
    configDir: options.configDir,
    checked: []
  }
}

/**
 * What each CLI generation reads (docs/convox.md sections 1.3 and 1.4). A rack access token is not
 * written to `auth`: every reader of `auth` sends it with user `convox`, which the rack compares
 * with its password and answers with a bare 401; without an entry they say there is no login
 * instead. The v3 CLI gets the token through RACK_URL, which beats the files.
 */
export function settingsEdits(result: LoginResult, password: string, user: BasicUser = 'convox'): Edit[] {
  const edits: Edit[] = [
    ...(user === 'jwt' ? [] : [{ file: 'auth' as const, key: result.host, value: password }]),
    { file: 'host', value: result.host },
    { file: 'console', value: result.host }
  ]
  if (result.userId) edits.push({ file: 'id', value: result.userId })
  if (result.kind !== 'console' || !result.rack) {
    // As `convox login` does: a rack chosen on another host must not stay the fallback.
    edits.push({ file: 'rack', value: null })
  } else {
    // `racks` is not created: v2 falls back to `rack`, and v3 needs the name for a directory of its
    // own. But a v2 `convox switch` on this runner left a racks file, whose entry for this host
    // would beat `rack`: that entry is switched too.
    edits.push(
      { file: 'rack', value: result.rack },
      { file: 'racks', key: result.host, value: result.rack, ifPresent: true },
      { file: 'current', value: JSON.stringify({ name: result.rack, type: 'console' }) }
    )
  }
  return edits
}

/**
 * The variables later steps need (docs/convox.md section 2). Values are secrets where they hold
 * the key. CONVOX_PASSWORD cannot say user `jwt`, so a token travels in RACK_URL alone (as for
 * `auth`, in settingsEdits).
 */
export function loginVariables(
  result: LoginResult,
  password: string,
  user: BasicUser = 'convox'
): Record<string, string> {
  const env: Record<string, string> = {
    CONVOX_HOST: result.host,
    ...(user === 'jwt' ? {} : { CONVOX_PASSWORD: password }),
    CONVOX_CONFIG: result.configDir
  }
  if (result.kind === 'console' && result.rack) env.CONVOX_RACK = result.rack
  if (result.kind === 'rack') env.RACK_URL = rackUrl(result.host, password, user)
  return env
}
