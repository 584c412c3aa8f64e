import * as core from '@actions/core'
import os from 'node:os'
import { realClock } from '../convox/clock.ts'
import { ConvoxError } from '../convox/errors.ts'
import type { Login } from '../convox/login.ts'
import { login, loginEnvironment } from '../convox/login.ts'
import { rackUrl, redact, secretForms } from '../convox/secrets.ts'
import type { Journal } from '../convox/settings.ts'
import { newJournal, undoSettings, writeSettings } from '../convox/settings.ts'
import { RejectedKeyError } from '../convox/validate.ts'
import type { KeyrollResult } from '../convox/keyroll.ts'
import type { InstalledCli } from '../cli/install.ts'
import type { Inputs } from '../inputs.ts'
import { parseInputs } from '../inputs.ts'
import { deleteJournal, loadJournal, saveJournal } from './journal-file.ts'
import { actionLog } from './log.ts'
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
  const secrets = [core.getInput('password'), core.getInput('password-next')].filter(Boolean)
  for (const secret of secrets) actionLog.secret(secret)

  let inputs: Inputs
  try {
    inputs = parseInputs(name => core.getInput(name), {
      home: os.homedir(),
      workspace: process.env.GITHUB_WORKSPACE
    })
  } catch (error) {
    return fail(error, secrets)
  }
  core.setSecret(rackUrl(inputs.host, inputs.password))
  if (inputs.insecure) {
    core.warning(
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

  let session: Login | undefined
  try {
    const cli = inputs.cliVersion
      ? await actionLog.group('Install the Convox CLI', () => installCli(inputs))
      : undefined
    session = await logIn(inputs, journal)
    recordForPost()
    const { result } = session
    let password = inputs.password
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
      for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
    }
    // Published before a keyroll, so that steps which run after a failed roll still have a login.
    publish()
    let keyroll: KeyrollResult | undefined
    if (inputs.keyroll) {
      keyroll = await rollKey(inputs, session)
      password = keyroll.password
      core.setSecret(rackUrl(result.host, password))
      writeSettings([{ file: 'auth', key: result.host, value: password }], journal, actionLog)
      recordForPost()
      Object.assign(outputs, {
        password,
        'keyroll-seconds': String(keyroll.seconds),
        'old-key-revoked': String(keyroll.oldKeyRevoked)
      })
      publish()
    }
    await writeSummary(result, { keyroll, cli })
  } catch (error) {
    return fail(error, secrets)
  } finally {
    session?.api?.close()
  }
}

async function installCli(inputs: Inputs): Promise<InstalledCli> {
  // Loaded only when asked for: it brings @actions/tool-cache.
  const { installCli: install } = await import('../cli/install.ts')
  return install({
    version: inputs.cliVersion,
    downloadUrl: inputs.cliDownloadUrl || undefined,
    token: inputs.cliToken || undefined,
    apiUrl: process.env.GITHUB_API_URL,
    platform: process.platform,
    arch: process.arch,
    log: actionLog,
    clock: realClock,
    retryForMs: inputs.retryForMs
  })
}

function logIn(inputs: Inputs, journal: Journal, password = inputs.password): Promise<Login> {
  return login({
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
  }).catch(error => {
    // After a keyroll that finished on the rack but not in the secrets, only password-next works.
    if (
      !(error instanceof RejectedKeyError) ||
      !inputs.keyroll ||
      !inputs.passwordNext ||
      password !== inputs.password
    ) {
      throw error
    }
    actionLog.info(
      'The rack refuses password; trying password-next, which an earlier keyroll may have put in place.'
    )
    return logIn(inputs, journal, inputs.passwordNext).catch(next => {
      if (!(next instanceof RejectedKeyError)) throw next
      throw new ConvoxError(
        `${inputs.host} refuses both password and password-next: if a keyroll is being applied, the rack can refuse both for a while, ` +
          'so run again in a few minutes with the same secrets; nothing was changed.'
      )
    })
  })
}

async function rollKey(inputs: Inputs, session: Login): Promise<KeyrollResult> {
  const { runKeyroll, KeyrollError } = await import('../convox/keyroll.ts')
  const store = inputs.updateSecret
    ? (await import('../github/secrets.ts')).gitHubSecretStoreFromEnv(process.env, {
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
        clock: realClock,
        log: actionLog
      })
    )
  } catch (error) {
    if (error instanceof KeyrollError && error.pendingPassword) {
      core.setOutput('password', error.pendingPassword)
      if (!store) {
        core.warning(
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
  for (const name of ['RACK_URL', 'CONVOX_RACK']) {
    if (process.env[name] && !(name in env)) {
      core.info(`Clearing ${name} left by an earlier step: it would send CLI commands to another rack.`)
      core.exportVariable(name, '')
    }
  }
  for (const [name, value] of Object.entries(env)) core.exportVariable(name, value)
}

function fail(error: unknown, secrets: readonly string[]): void {
  const forms = secrets.flatMap(s => secretForms(s))
  if (error instanceof ConvoxError) core.setFailed(redact(error.message, forms))
  else
    core.setFailed(
      `Unexpected error in convox-login (please report it): ${redact(String((error as Error)?.stack ?? error), forms)}`
    )
}

/** Undoes what main recorded. A problem here is a warning: the job's work is already done. */
export async function post(): Promise<void> {
  const journalPath = state.journalPath()
  if (!journalPath) {
    core.info('Nothing to undo: the main step wrote no settings, or logout is false.')
    return
  }
  try {
    const journal = loadJournal(journalPath)
    undoSettings(journal, actionLog)
    core.info(`Restored the Convox settings in ${journal.dir} to what they were before this step.`)
  } catch (error) {
    core.warning(`Could not undo the Convox login: ${(error as Error).message}`)
  } finally {
    deleteJournal(journalPath)
  }
}
