import { homedir } from 'node:os'
import { formatDuration, realClock } from '../core/clock.ts'
import { ConvoxError } from '../core/errors.ts'
import type { Login } from '../core/login.ts'
import { login, loginEnvironment } from '../core/login.ts'
import { rackUrl, redact, secretForms } from '../core/secrets.ts'
import type { Journal } from '../core/settings.ts'
import { newJournal, undoSettings, writeSettings } from '../core/settings.ts'
import { RejectedKeyError } from '../core/validate.ts'
import type { KeyrollResult } from '../core/keyroll.ts'
import { KeyrollError, runKeyroll } from '../core/keyroll.ts'
import { gitHubSecretStoreFromEnv } from '../core/github-secrets.ts'
import { installCli as install } from '../core/cli-install/install.ts'
import type { InstalledCli } from '../core/cli-install/install.ts'
import { childProcessRunner } from '../toolkit/exec.ts'
import { toolCacheDownloader } from '../toolkit/tool-cache.ts'
import type { Inputs } from './inputs.ts'
import { parseInputs } from './inputs.ts'
import { deleteJournal, loadJournal, saveJournal } from './journal-file.ts'
import { actionLog } from './log.ts'
import * as runner from './runner.ts'
import { state } from './state.ts'
import { writeSummary } from './summary.ts'

/**
 * The GitHub Action: a thin adapter between the runner (inputs, outputs, masking, state,
 * summary) and the Convox logic in src/convox. Main and post sit side by side; post undoes
 * exactly what main recorded.
 */
export async function run(): Promise<void> {
  state.markMainRan()
  // Mask before anything can print, even before the inputs are checked.
  const keys = [runner.getInput('password'), runner.getInput('password-next')].filter(Boolean)
  for (const key of keys) actionLog.secret(key)
  const tokens = [runner.getInput('github-token'), runner.getInput('cli-token')].filter(Boolean)
  runner.setSecret(...tokens)
  const secrets = [...keys, ...tokens]

  let inputs: Inputs
  try {
    inputs = parseInputs(name => runner.getInput(name), {
      home: homedir(),
      workspace: process.env.GITHUB_WORKSPACE
    })
  } catch (error) {
    return fail(error, secrets)
  }
  runner.setSecret(rackUrl(inputs.host, inputs.password))
  if (inputs.insecure) {
    runner.warning(
      `insecure is true: the TLS certificate of ${inputs.host} is not verified, so a machine in the middle could read the key.`
    )
  }

  const journal = newJournal(inputs.configDir)
  let journalPath = ''
  const recordForPost = () => {
    if (!inputs.logout || journal.entries.length === 0) return
    journalPath = saveJournal(journal, journalPath)
    state.setJournalPath(journalPath)
  }

  let session: Session | undefined
  try {
    const cli = inputs.cliVersion
      ? await actionLog.group('Install the Convox CLI', () => installCli(inputs))
      : undefined
    session = await logIn(inputs, journal)
    recordForPost()
    const { result } = session
    // The key the settings hold: password-next when the rack refused password (keyroll recovery).
    let password = session.password
    const outputs: Record<string, string> = {
      host: result.host,
      kind: result.kind,
      rack: result.rack,
      'rack-version': result.rackVersion,
      'rack-status': result.rackStatus,
      'rack-provider': result.rackProvider,
      'user-id': result.userId,
      'config-dir': result.configDir,
      ...(cli && { 'cli-version': cli.version, 'cli-path': cli.path })
    }
    const publish = () => {
      if (inputs.exportEnv) exportEnvironment(loginEnvironment(result, password))
      runner.setOutputs(outputs)
    }
    // Published before a keyroll, so that steps which run after a failed roll still have a login.
    publish()
    let keyroll: KeyrollResult | undefined
    if (inputs.keyroll) {
      keyroll = await rollKey(inputs, session)
      password = keyroll.password
      runner.setSecret(rackUrl(result.host, password))
      writeSettings([{ file: 'auth', key: result.host, value: password }], journal, actionLog)
      recordForPost()
      Object.assign(outputs, {
        password,
        'keyroll-seconds': String(keyroll.seconds),
        'old-key-revoked': String(keyroll.oldKeyRevoked)
      })
      publish()
    }
    writeSummary(result, { keyroll, cli })
  } catch (error) {
    return fail(error, secrets)
  } finally {
    session?.api?.close()
  }
}

async function installCli(inputs: Inputs): Promise<InstalledCli> {
  // convox/convox's releases live on github.com. On GitHub Enterprise Server the job's API is
  // another host, and its token must not be sent to github.com.
  const server = process.env.GITHUB_SERVER_URL
  const onGitHubCom = !server || server === 'https://github.com'
  let cli: InstalledCli | undefined
  try {
    cli = await install({
      version: inputs.cliVersion,
      downloadUrl: inputs.cliDownloadUrl || undefined,
      token: onGitHubCom ? inputs.cliToken || undefined : undefined,
      apiUrl: onGitHubCom ? process.env.GITHUB_API_URL : undefined,
      platform: process.platform,
      arch: process.arch,
      toolCacheDir: process.env.RUNNER_TOOL_CACHE ?? '',
      tempDir: process.env.RUNNER_TEMP ?? '',
      downloader: toolCacheDownloader,
      programs: childProcessRunner,
      environment: process.env,
      log: actionLog,
      clock: realClock,
      retryForMs: inputs.retryForMs
    })
  } finally {
    // A cache hit never loads tool-cache, so nothing of it can be waiting.
    if (!cli?.cached) await runner.drainStdout()
  }
  runner.addPath(cli.dir)
  return cli
}

/** A login and the key it used: password-next when the rack took it during keyroll recovery. */
interface Session extends Login {
  password: string
  /** In keyroll recovery, when the login began to wait for the rack: part of the keyroll's wait. */
  recoveryStartedAt?: number
}

/** How long to wait between logins while the rack refuses both keys during keyroll recovery. */
const RECOVERY_RETRY_MS = 3000
const RECOVERY_RETRY_JITTER_MS = 1000

async function logIn(inputs: Inputs, journal: Journal): Promise<Session> {
  const attempt = async (password: string): Promise<Session> => ({
    ...(await login({
      host: inputs.host,
      password,
      rack: inputs.rack,
      validate: inputs.validate,
      configDir: inputs.configDir,
      tls: { caCert: inputs.caCert || undefined, insecure: inputs.insecure },
      retryForMs: inputs.retryForMs,
      clock: realClock,
      log: actionLog,
      journal
    })),
    password
  })
  const next = inputs.passwordNext
  if (!inputs.keyroll || !next || next === inputs.password) return attempt(inputs.password)
  // Keyroll recovery: an earlier roll may have gone through (only password-next works), or may be
  // in its window, where the rack refuses either key for a while, or one request of a login and
  // not the next. The keyroll rides that out until keyroll-timeout, so the login must as well.
  const start = realClock.now()
  for (let round = 1; ; round++) {
    for (const [name, password] of [
      ['password', inputs.password],
      ['password-next', next]
    ] as const) {
      try {
        return { ...(await attempt(password)), recoveryStartedAt: start }
      } catch (error) {
        if (!(error instanceof RejectedKeyError)) throw error
        if (round === 1 && name === 'password') {
          actionLog.info(
            'The rack refuses password; trying password-next, which an earlier keyroll may have put in place.'
          )
        }
      }
    }
    const spent = realClock.now() - start
    if (spent >= inputs.keyrollTimeoutMs) {
      throw new ConvoxError(
        `${inputs.host} refused both password and password-next for ${formatDuration(spent)} (keyroll-timeout): if a keyroll ` +
          'is being applied, run again later with the same secrets; nothing was changed. If it keeps refusing both, ' +
          "neither key is the rack's: set a known one through the rack's CloudFormation stack (parameter Password) and store it."
      )
    }
    const delay = Math.min(
      RECOVERY_RETRY_MS + Math.floor(realClock.random() * RECOVERY_RETRY_JITTER_MS),
      inputs.keyrollTimeoutMs - spent
    )
    actionLog.info(
      `The rack refuses both password and password-next, as it can while an earlier keyroll replaces its API; ` +
        `trying again in ${formatDuration(delay)} (${formatDuration(spent)} of ${formatDuration(inputs.keyrollTimeoutMs)} spent).`
    )
    await realClock.sleep(delay)
  }
}

async function rollKey(inputs: Inputs, session: Session): Promise<KeyrollResult> {
  const store = inputs.updateSecret
    ? gitHubSecretStoreFromEnv(process.env, {
        token: inputs.githubToken,
        name: inputs.updateSecret,
        environment: inputs.updateSecretEnvironment || undefined,
        clock: realClock,
        log: actionLog,
        retryForMs: inputs.retryForMs
      })
    : undefined
  const api = session.api
  if (!api) throw new ConvoxError('keyroll needs the API, but validate is false: remove validate: false.')
  try {
    return await actionLog.group(`Keyroll on ${inputs.host}`, () =>
      runKeyroll({
        api: api.withPassword(inputs.password),
        kind: session.result.kind,
        rackVersion: session.result.rackVersion,
        password: inputs.password,
        passwordNext: inputs.passwordNext || undefined,
        store,
        timeoutMs: inputs.keyrollTimeoutMs,
        // The login may have waited through the earlier roll's window: one keyroll-timeout for both.
        startedAt: session.recoveryStartedAt,
        clock: realClock,
        log: actionLog
      })
    )
  } catch (error) {
    if (error instanceof KeyrollError && error.pendingPassword) {
      runner.setOutputs({ password: error.pendingPassword })
      if (!store) {
        runner.warning(
          'The new key exists only in the password output of this step: store it (for example in a secret) in a later step with if: always(), ' +
            'or pass it as password-next next time to finish the roll.'
        )
      }
    }
    throw error
  }
}

/** Exports the variables, and clears a stale one from an earlier step that would send commands elsewhere. */
function exportEnvironment(env: Record<string, string>): void {
  const cleared: Record<string, string> = {}
  for (const name of ['RACK_URL', 'CONVOX_RACK']) {
    if (process.env[name] && !(name in env)) {
      runner.info(`Clearing ${name} left by an earlier step: it would send CLI commands to another rack.`)
      cleared[name] = ''
    }
  }
  runner.exportVariables({ ...cleared, ...env })
}

function fail(error: unknown, secrets: readonly string[]): void {
  const forms = secrets.flatMap(s => secretForms(s))
  if (error instanceof ConvoxError) runner.setFailed(redact(error.message, forms))
  else runner.setFailed(unexpectedError(error, forms))
}

/** What to say of an error that is not a ConvoxError: a bug, to be reported, with any secret form redacted. */
export function unexpectedError(error: unknown, forms: readonly string[] = []): string {
  return `Unexpected error in convox-login (please report it): ${redact(String((error as Error)?.stack ?? error), forms)}`
}

/** Undoes what main recorded. A problem here is a warning: the job's work is already done. */
export async function post(): Promise<void> {
  const journalPath = state.journalPath()
  if (!journalPath) {
    runner.info('Nothing to undo: the main step wrote no settings, or logout is false.')
    return
  }
  try {
    const journal = loadJournal(journalPath)
    undoSettings(journal, actionLog)
    runner.info(`Restored the Convox settings in ${journal.dir} to what they were before this step.`)
  } catch (error) {
    runner.warning(`Could not undo the Convox login: ${(error as Error).message}`)
  } finally {
    try {
      deleteJournal(journalPath)
    } catch (error) {
      // It holds the previous settings, other hosts' keys among them; the runner empties RUNNER_TEMP.
      runner.warning(`Could not delete the undo journal ${journalPath}: ${(error as Error).message}`)
    }
  }
}
