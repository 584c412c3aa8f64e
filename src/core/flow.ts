import type { InstallCliOptions, InstalledCli } from './cli-install/install.ts'
import { installCli } from './cli-install/install.ts'
import type { Clock } from './clock.ts'
import { formatDuration } from './clock.ts'
import type { BasicUser, TokenCredential } from './credential.ts'
import { checkTokenExpiry, formatExpiry, parseToken } from './credential.ts'
import { ConvoxError } from './errors.ts'
import type { KeyrollResult } from './keyroll/keyroll.ts'
import { KeyrollError, runKeyroll } from './keyroll/keyroll.ts'
import { checkKeyrollKey } from './options.ts'
import type { Log } from './log.ts'
import type { Naming } from './naming.ts'
import type { Login, LoginOptions, LoginResult } from './login.ts'
import { login, loginVariables } from './login.ts'
import type { RotationPlan } from './rotation/plan.ts'
import { planRotation } from './rotation/plan.ts'
import type { RotationResult } from './rotation/rotation.ts'
import { rotationContext, rotationOutputs, runRotations } from './rotation/rotation.ts'
import type { SecretStore } from './stores/store.ts'
import { rackUrls, secretForms } from './secrets.ts'
import type { JobTokenOptions } from './tokens/job-token.ts'
import { jobTokenExchange } from './tokens/job-token.ts'
import type { MintedToken } from './tokens/mint.ts'
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
  login: Omit<LoginOptions, 'clock' | 'log' | 'naming' | 'journal' | 'saveJournal'>
  /** Set to roll the key after the login. */
  keyroll?: {
    timeoutMs: number
    /** The pending key of an earlier roll that may not have finished. */
    passwordNext?: string
    store?: SecretStore
    /** The command needs a store for a v2 rack's new key; the action has its password output. */
    needsStore?: boolean
  }
  /** Set to roll the instances' SSH key after the login (and after a keyroll). */
  instancesKeyroll?: {
    timeoutMs: number
    /** Where a v3 rack's new private key goes. */
    sshKeyStore?: SecretStore
  }
  cli?: Omit<InstallCliOptions, 'log' | 'clock' | 'naming'>
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
  /** A v3 rack's password rotated through Console, instance SSH keys rolled. */
  rotation?: RotationResult
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
  const { log, naming } = frontend
  // Every form a key can take is masked before any line can show it; the adapter masked the keys themselves.
  for (const key of [options.login.password, options.keyroll?.passwordNext]) {
    if (key) for (const url of rackUrls(options.login.host, key)) log.secret(url)
  }
  let token = checkToken(options, log, naming)
  const actor = options.login.actor ?? ''
  const cli = options.cli
    ? await log.group('Install the Convox CLI', () =>
        installCli({ ...options.cli!, log, naming, clock: options.clock })
      )
    : undefined
  if (cli) frontend.addPath(cli.dir)

  let plan: RotationPlan = {}
  const session = await logIn(options, frontend, async (result, api) => {
    if (!api || (!options.keyroll && !options.instancesKeyroll)) return
    plan = await planRotation(
      {
        password: !!options.keyroll,
        passwordStore: !!options.keyroll?.store || !options.keyroll?.needsStore,
        instances: !!options.instancesKeyroll,
        sshKeyStore: options.instancesKeyroll?.sshKeyStore
      },
      result,
      rotationContext({
        api,
        login: result,
        timeoutMs: 0,
        retryForMs: options.login.retryForMs,
        clock: options.clock,
        log,
        naming: frontend.naming,
        forms: secretForms(options.login.password, options.login.host)
      }),
      frontend.naming
    )
  })
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
    if (!options.keyroll && !options.instancesKeyroll)
      return {
        login: result,
        password,
        cli,
        token,
        minted: session.minted && { storedIn: store?.describe('current') },
        actor
      }

    let keyroll: KeyrollResult | undefined
    if (plan.password === 'rack') {
      keyroll = await rollKey(options, frontend, session)
      password = keyroll.password
      for (const url of rackUrls(result.host, password)) log.secret(url)
      writeSettings(
        [{ file: 'auth', key: result.host, value: password }],
        options.journal,
        log,
        naming,
        journal => frontend.saveJournal(journal)
      )
      Object.assign(outputs, {
        password,
        'keyroll-seconds': String(keyroll.seconds),
        'old-key-revoked': String(keyroll.oldKeyRevoked)
      })
      publish()
    }
    const rotation = await runRotations(plan, {
      // A direct rack's instance keyroll goes with the key the rack uses now.
      api: session.api!.withPassword(password),
      login: result,
      timeoutMs: options.instancesKeyroll?.timeoutMs ?? options.keyroll!.timeoutMs,
      retryForMs: options.login.retryForMs,
      sshKeyStore: options.instancesKeyroll?.sshKeyStore,
      clock: options.clock,
      log,
      naming: frontend.naming,
      forms: secretForms(password, result.host)
    })
    Object.assign(outputs, rotationOutputs(plan, keyroll, rotation))
    publish()
    return { login: result, password, keyroll, rotation, cli, token, actor }
  } finally {
    session.api?.close()
    options.keyroll?.store?.close()
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
function checkToken(options: FlowOptions, log: Log, naming: Naming): TokenCredential | undefined {
  if (options.login.user !== 'jwt') return undefined
  const token = parseToken(options.login.password, naming.subject('password'))
  // The adapters refuse it while reading their options; a front end that did not is refused here.
  if (options.keyroll) checkKeyrollKey(options.login.user, naming)
  const warning = checkTokenExpiry(token, options.clock.now())
  if (warning) log.warning(warning)
  if (!options.exportEnv) {
    log.warning(
      `${naming.given('export-env', 'false')}, and a rack access token is not written to the settings files (their readers would send it as a ` +
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

async function logIn(
  options: FlowOptions,
  frontend: Frontend,
  beforeWrite: LoginOptions['beforeWrite']
): Promise<Session> {
  const { clock, journal } = options
  const { log, naming } = frontend
  const saveJournal = (j: Journal) => frontend.saveJournal(j)
  let minted: MintedToken | undefined
  const exchange =
    options.mint &&
    jobTokenExchange(options.mint, { ...options.login, clock, log, naming }, token => (minted = token))
  const attempt = async (password: string): Promise<Session> => {
    const done = await login({
      ...options.login,
      password,
      clock,
      log,
      naming,
      journal,
      saveJournal,
      beforeWrite,
      exchange
    })
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
            `The rack refuses ${naming.ref('password')}; trying ${naming.ref('password-next')}, which an earlier keyroll may have put in place.`
          )
        }
      }
    }
    const spent = clock.now() - start
    if (spent >= timeoutMs) {
      throw new ConvoxError(
        `${options.login.host} refused both ${naming.ref('password')} and ${naming.ref('password-next')} for ${formatDuration(spent)} ` +
          `(${naming.ref('keyroll-timeout')}): if a keyroll ` +
          'is being applied, run again later with the same secrets; nothing was changed. If it keeps refusing both, ' +
          "neither key is the rack's: set a known one through the rack's CloudFormation stack (parameter Password) and store it."
      )
    }
    const delay = Math.min(
      RECOVERY_RETRY_MS + Math.floor(clock.random() * RECOVERY_RETRY_JITTER_MS),
      timeoutMs - spent
    )
    log.info(
      `The rack refuses both ${naming.ref('password')} and ${naming.ref('password-next')}, as it can while an earlier keyroll replaces its API; ` +
        `trying again in ${formatDuration(delay)} (${formatDuration(spent)} of ${formatDuration(timeoutMs)} spent).`
    )
    await clock.sleep(delay)
  }
}

async function rollKey(options: FlowOptions, frontend: Frontend, session: Session): Promise<KeyrollResult> {
  const { log, naming } = frontend
  const { timeoutMs, passwordNext, store } = options.keyroll!
  const { host } = options.login
  const api = session.api
  if (!api) {
    throw new ConvoxError(
      `keyroll needs the API, but ${naming.given('validate', 'false')}: ${naming.unset('validate', 'false')}.`
    )
  }
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
        log,
        naming
      })
    )
  } catch (error) {
    if (error instanceof KeyrollError && error.pendingPassword) {
      frontend.publish({ env: {}, clear: [], outputs: { password: error.pendingPassword } })
      if (!store) {
        log.warning(
          'The new key exists only in the password output of this step: store it (for example in a secret) in a later step with if: always(), ' +
            `or pass it as ${naming.ref('password-next')} next time to finish the roll.`
        )
      }
    }
    throw error
  }
}
