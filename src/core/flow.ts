import type { InstallCliOptions, InstalledCli } from './cli-install/install.ts'
import { installCli } from './cli-install/install.ts'
import type { Clock } from './clock.ts'
import { formatDuration } from './clock.ts'
import type { BasicUser, TokenCredential } from './credential.ts'
import { checkTokenExpiry, formatExpiry, parseToken } from './credential.ts'
import { ConvoxError } from './errors.ts'
import type { KeyrollResult } from './keyroll/keyroll.ts'
import { KeyrollError, runKeyroll } from './keyroll/keyroll.ts'
import type { Log } from './log.ts'
import type { Naming } from './naming.ts'
import type { Login, LoginOptions, LoginResult } from './login.ts'
import { login, loginVariables } from './login.ts'
import type { SecretStore } from './stores/store.ts'
import type { JobTokenOptions } from './tokens/job-token.ts'
import { jobTokenExchange } from './tokens/job-token.ts'
import type { MintedToken } from './tokens/mint.ts'
import { rackUrls } from './secrets.ts'
import type { Journal } from './settings/journal.ts'
import { writeSettings } from './settings/settings.ts'
import { RejectedKeyError } from './validate.ts'

/**
 * A whole login, in the order every front end runs it: install the CLI, log in (riding out an
 * earlier keyroll's window when a pending key is given), hand the login over to later steps, roll
 * the key, hand over again. The front ends (the GitHub Action, the convox-login command) differ
 * only in how they hand over, so that is all they implement (`Frontend`).
 */

/** What later steps get. `clear` names variables an earlier step left that would send commands elsewhere. */
export interface Handover {
  env: Record<string, string>
  clear: string[]
  outputs: Record<string, string>
}

export interface Frontend {
  log: Log
  /** How this front end names its options, for every sentence the core renders at run time. */
  naming: Naming
  /** Called after the login and again after a keyroll: the later call supersedes the earlier. */
  publish(handover: Handover): void
  /**
   * Called before every change to the settings, with the journal that undoes it and all before
   * it; a journal that cannot be saved throws, and the change is not made.
   */
  saveJournal(journal: Journal): void
  /** Puts the installed CLI's directory on PATH for later steps. */
  addPath(dir: string): void
}

export interface FlowOptions {
  login: Omit<LoginOptions, 'clock' | 'log' | 'journal' | 'saveJournal'>
  /** Set to roll the key after the login. */
  keyroll?: {
    timeoutMs: number
    /** The pending key of an earlier roll that may not have finished. */
    passwordNext?: string
    store?: SecretStore
  }
  cli?: Omit<InstallCliOptions, 'log' | 'clock'>
  /** Set to hand later steps (or a store) a minted job token instead of the login's key. */
  mint?: JobTokenOptions
  /** Whether the login's variables go to later steps (`export-env`). */
  exportEnv: boolean
  /** Whether later steps get `login.actor` as CONVOX_ACTOR (with exportEnv): not over the job's own. */
  exportActor?: boolean
  /** The environment this process runs in: a stale RACK_URL, CONVOX_RACK or CONVOX_PASSWORD there is cleared. */
  env: Readonly<Record<string, string | undefined>>
  journal: Journal
  clock: Clock
}

export interface FlowResult {
  login: LoginResult
  /** The key the settings hold at the end: the new one after a keyroll. */
  password: string
  keyroll?: KeyrollResult
  cli?: InstalledCli
  /** The rack access token's claims, for a token login or a minted job token. */
  token?: TokenCredential
  /** Set when `token` was minted by this login: where it was stored, or nothing when handed over. */
  minted?: { storedIn?: string }
  /** The audit actor sent; empty when none. */
  actor: string
}

/** The variables that, left by an earlier step and not set by this login, would mislead later commands. */
const STALE_VARIABLES = {
  RACK_URL: 'it would send CLI commands to another rack',
  CONVOX_RACK: 'it would send CLI commands to another rack',
  // A token login sets no CONVOX_PASSWORD: an earlier one would go to this host with CONVOX_HOST.
  CONVOX_PASSWORD: "it holds another login's key, which CLI commands would send to this host"
} as const

export async function runFlow(options: FlowOptions, frontend: Frontend): Promise<FlowResult> {
  const { log } = frontend
  // Every form a key can take is masked before any line can show it; the adapter masked the keys themselves.
  for (const key of [options.login.password, options.keyroll?.passwordNext]) {
    if (key) for (const url of rackUrls(options.login.host, key)) log.secret(url)
  }
  let token = checkToken(options, log)
  const actor = options.login.actor ?? ''
  const cli = options.cli
    ? await log.group('Install the Convox CLI', () =>
        installCli({ ...options.cli!, log, clock: options.clock })
      )
    : undefined
  if (cli) frontend.addPath(cli.dir)

  const session = await logIn(options, frontend)
  try {
    const { result } = session
    let password = session.password
    if (session.minted) token = session.minted.credential
    const outputs: Record<string, string> = {
      host: result.host,
      kind: result.kind,
      rack: result.rack,
      'rack-version': result.rackVersion,
      'rack-status': result.rackStatus,
      'rack-provider': result.rackProvider,
      'user-id': result.userId,
      'config-dir': result.configDir,
      'token-role': token?.role ?? '',
      'token-expires-at': token ? formatExpiry(token.expiresAt) : '',
      actor,
      ...(session.minted && { 'rack-url': session.minted.rackUrl }),
      ...(cli && { 'cli-version': cli.version, 'cli-path': cli.path })
    }
    const store = options.mint?.store
    // A revocation stores as soon as the new token is verified, itself.
    if (session.minted && store && !options.mint?.revoke) {
      await log.group(`Store the token in ${store.describe('current')}`, () =>
        store.writeCurrent(session.minted!.rackUrl)
      )
    }
    // A stored token is for the jobs that read the store, not for this job's later steps.
    const exportEnv = options.exportEnv && !store
    const publish = () =>
      frontend.publish(handover({ ...options, exportEnv }, log, result, password, session.user, outputs))
    // Before a keyroll, so that steps which run after a failed roll still have a login.
    publish()
    if (!options.keyroll)
      return {
        login: result,
        password,
        cli,
        token,
        minted: session.minted && { storedIn: store?.describe('current') },
        actor
      }

    const keyroll = await rollKey(options, frontend, session)
    password = keyroll.password
    for (const url of rackUrls(result.host, password)) log.secret(url)
    writeSettings([{ file: 'auth', key: result.host, value: password }], options.journal, log, journal =>
      frontend.saveJournal(journal)
    )
    Object.assign(outputs, {
      password,
      'keyroll-seconds': String(keyroll.seconds),
      'old-key-revoked': String(keyroll.oldKeyRevoked)
    })
    publish()
    return { login: result, password, keyroll, cli, token, actor }
  } finally {
    session.api?.close()
  }
}

function handover(
  options: FlowOptions,
  log: Log,
  result: LoginResult,
  password: string,
  user: BasicUser,
  outputs: Record<string, string>
): Handover {
  if (!options.exportEnv) return { env: {}, clear: [], outputs: { ...outputs } }
  const env = loginVariables(result, password, user)
  if (options.exportActor && options.login.actor) env.CONVOX_ACTOR = options.login.actor
  const clear = (Object.keys(STALE_VARIABLES) as Array<keyof typeof STALE_VARIABLES>).filter(
    name => options.env[name] && !(name in env)
  )
  for (const name of clear) {
    log.info(`Clearing ${name} left by an earlier step: ${STALE_VARIABLES[name]}.`)
  }
  return { env, clear, outputs: { ...outputs } }
}

/**
 * A rack access token is checked before any request: its end date (the rack would only say 401),
 * and that no keyroll is asked of it. Returns its claims; undefined for any other key.
 */
function checkToken(options: FlowOptions, log: Log): TokenCredential | undefined {
  if (options.login.user !== 'jwt') return undefined
  const token = parseToken(options.login.password, 'password')
  if (options.keyroll) {
    throw new ConvoxError(
      'keyroll: true cannot roll a rack access token: it is not the rack password. A token ends by itself at its ' +
        'expiresAt, or with all others by convox rack access key rotate; remove keyroll: true, or log in with the rack password to roll that.'
    )
  }
  const warning = checkTokenExpiry(token, options.clock.now())
  if (warning) log.warning(warning)
  if (!options.exportEnv) {
    log.warning(
      'export-env is false, and a rack access token is not written to the settings files (their readers would send it as a ' +
        'password): later convox commands are not logged in unless you set RACK_URL yourself.'
    )
  }
  log.info(`Rack access token: role ${token.role}, expires at ${formatExpiry(token.expiresAt)}.`)
  return token
}

/** A login and the key it used: password-next when the rack took it during keyroll recovery. */
interface Session extends Login {
  password: string
  user: BasicUser
  /** The job token the login's key was traded for. */
  minted?: MintedToken
  /** In keyroll recovery, when the login began to wait for the rack: part of the keyroll's wait. */
  recoveryStartedAt?: number
}

/** How long to wait between logins while the rack refuses both keys during keyroll recovery. */
const RECOVERY_RETRY_MS = 3000
const RECOVERY_RETRY_JITTER_MS = 1000

async function logIn(options: FlowOptions, frontend: Frontend): Promise<Session> {
  const { clock, journal } = options
  const { log } = frontend
  const saveJournal = (j: Journal) => frontend.saveJournal(j)
  let minted: MintedToken | undefined
  const exchange =
    options.mint &&
    jobTokenExchange(
      options.mint,
      { ...options.login, clock, log, naming: frontend.naming },
      token => (minted = token)
    )
  const attempt = async (password: string): Promise<Session> => {
    const done = await login({ ...options.login, password, clock, log, journal, saveJournal, exchange })
    return { ...done, ...done.handed, minted }
  }
  const current = options.login.password
  const next = options.keyroll?.passwordNext
  if (!options.keyroll || !next || next === current) return attempt(current)
  // Keyroll recovery: an earlier roll may have gone through (only password-next works), or may be
  // in its window, where the rack refuses either key for a while, or one request of a login and
  // not the next. The keyroll rides that out until keyroll-timeout, so the login must as well.
  const { timeoutMs } = options.keyroll
  const start = clock.now()
  for (let round = 1; ; round++) {
    for (const [name, password] of [
      ['password', current],
      ['password-next', next]
    ] as const) {
      try {
        return { ...(await attempt(password)), recoveryStartedAt: start }
      } catch (error) {
        if (!(error instanceof RejectedKeyError)) throw error
        if (round === 1 && name === 'password') {
          log.info(
            'The rack refuses password; trying password-next, which an earlier keyroll may have put in place.'
          )
        }
      }
    }
    const spent = clock.now() - start
    if (spent >= timeoutMs) {
      throw new ConvoxError(
        `${options.login.host} refused both password and password-next for ${formatDuration(spent)} (keyroll-timeout): if a keyroll ` +
          'is being applied, run again later with the same secrets; nothing was changed. If it keeps refusing both, ' +
          "neither key is the rack's: set a known one through the rack's CloudFormation stack (parameter Password) and store it."
      )
    }
    const delay = Math.min(
      RECOVERY_RETRY_MS + Math.floor(clock.random() * RECOVERY_RETRY_JITTER_MS),
      timeoutMs - spent
    )
    log.info(
      `The rack refuses both password and password-next, as it can while an earlier keyroll replaces its API; ` +
        `trying again in ${formatDuration(delay)} (${formatDuration(spent)} of ${formatDuration(timeoutMs)} spent).`
    )
    await clock.sleep(delay)
  }
}

async function rollKey(options: FlowOptions, frontend: Frontend, session: Session): Promise<KeyrollResult> {
  const { log } = frontend
  const { timeoutMs, passwordNext, store } = options.keyroll!
  const { host } = options.login
  const api = session.api
  if (!api) throw new ConvoxError('keyroll needs the API, but validate is false: remove validate: false.')
  const password = options.login.password
  try {
    return await log.group(`Keyroll on ${host}`, () =>
      runKeyroll({
        api: api.withPassword(password),
        kind: session.result.kind,
        rackVersion: session.result.rackVersion,
        password,
        passwordNext: passwordNext || undefined,
        store,
        timeoutMs,
        // The login may have waited through the earlier roll's window: one keyroll-timeout for both.
        startedAt: session.recoveryStartedAt,
        clock: options.clock,
        log
      })
    )
  } catch (error) {
    if (error instanceof KeyrollError && error.pendingPassword) {
      frontend.publish({ env: {}, clear: [], outputs: { password: error.pendingPassword } })
      if (!store) {
        log.warning(
          'The new key exists only in the password output of this step: store it (for example in a secret) in a later step with if: always(), ' +
            'or pass it as password-next next time to finish the roll.'
        )
      }
    }
    throw error
  }
}
