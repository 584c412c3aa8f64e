import * as core from '@actions/core'
import os from 'node:os'
import { realClock } from '../convox/clock.ts'
import { ConvoxError } from '../convox/errors.ts'
import type { Login } from '../convox/login.ts'
import { login, loginEnvironment } from '../convox/login.ts'
import { rackUrl, redact, secretForms } from '../convox/secrets.ts'
import { newJournal, undoSettings } from '../convox/settings.ts'
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
    inputs = parseInputs(name => core.getInput(name), { home: os.homedir(), workspace: process.env.GITHUB_WORKSPACE })
  } catch (error) {
    return fail(error, secrets)
  }
  core.setSecret(rackUrl(inputs.host, inputs.password))
  if (inputs.insecure) {
    core.warning(`insecure is true: the TLS certificate of ${inputs.host} is not verified, so a machine in the middle could read the key.`)
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
    session = await login({
      host: inputs.host,
      password: inputs.password,
      rack: inputs.rack,
      validate: inputs.validate,
      configDir: inputs.configDir,
      tls: { caCert: inputs.caCert || undefined, insecure: inputs.insecure },
      retryForMs: inputs.retryForMs,
      clock: realClock,
      log: actionLog,
      journal
    })
    recordForPost()
    const { result } = session
    if (inputs.exportEnv) exportEnvironment(loginEnvironment(result, inputs.password))
    const outputs: Record<string, string> = {
      host: result.host,
      kind: result.kind,
      rack: result.rack,
      'rack-version': result.rackVersion,
      'rack-status': result.rackStatus,
      'rack-provider': result.rackProvider,
      'user-id': result.userId,
      'config-dir': result.configDir
    }
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
    await writeSummary(result, {})
  } catch (error) {
    return fail(error, secrets)
  } finally {
    session?.api?.close()
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
  else core.setFailed(`Unexpected error in convox-login (please report it): ${redact(String((error as Error)?.stack ?? error), forms)}`)
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
