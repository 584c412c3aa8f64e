import * as core from '@actions/core'
import { homedir } from 'node:os'
import type { RunContext } from '../core/actor.ts'
import { resolveActor } from '../core/actor.ts'
import { realClock } from '../core/clock.ts'
import { failureText, unexpectedError } from '../core/errors.ts'
import { runFlow } from '../core/flow.ts'
import { gitHubSecretStoreFromEnv } from '../core/stores/github.ts'
import { secretForms } from '../core/secrets.ts'
import { flowLogin, loginWarnings } from '../core/resolve.ts'
import type { Journal } from '../core/settings/journal.ts'
import { newJournal } from '../core/settings/journal.ts'
import { INPUT_NAMING } from './naming.ts'
import { undoSettings } from '../core/settings/settings.ts'
import { actionsExecRunner } from '../toolkit/exec.ts'
import { toolCacheDownloader } from '../toolkit/tool-cache.ts'
import type { Inputs } from './inputs.ts'
import { parseInputs } from './inputs.ts'
import { actionFrontend } from './frontend.ts'
import { checkJournalDir, deleteJournal, loadJournal } from './journal-file.ts'
import { actionLog } from './log.ts'
import { state } from './state.ts'
import { writeSummary } from './summary.ts'
import type { MintSettings } from '../core/tokens/options.ts'

/**
 * The GitHub Action: a thin adapter between the runner (inputs, outputs, masking, state,
 * summary) and the Convox logic in src/core, which runs the login (core/flow.ts). Main and post
 * sit side by side; post undoes exactly what main recorded.
 */
export async function run(): Promise<void> {
  state.markMainRan()
  // Mask before anything can print, even before the inputs are checked.
  const { keys, tokens } = secretInputs()
  for (const key of keys) actionLog.secret(key)
  for (const token of tokens) core.setSecret(token)
  const secrets = [...keys, ...tokens]

  let inputs: Inputs
  try {
    inputs = parseInputs(name => core.getInput(name), {
      home: homedir(),
      workspace: process.env.GITHUB_WORKSPACE
    })
    if (inputs.logout) checkJournalDir()
  } catch (error) {
    return fail(error, secrets)
  }
  // The key inside rack-url, percent-decoded: a form the raw input's mask does not cover.
  if (!secrets.includes(inputs.password)) {
    actionLog.secret(inputs.password)
    secrets.push(inputs.password)
  }
  for (const warning of loginWarnings(inputs, INPUT_NAMING)) core.warning(warning)
  const actor = resolveActor({ input: inputs.actor, jobActor: process.env.CONVOX_ACTOR, run: gitHubRun() })
  try {
    const result = await runFlow(
      {
        // The proxy variables (HTTPS_PROXY, NO_PROXY) as the runner set them: core reads no environment.
        login: flowLogin(inputs, actor.value, process.env),
        keyroll: inputs.keyroll ? keyrollOptions(inputs) : undefined,
        instancesKeyroll: inputs.instancesKeyroll ? instancesKeyrollOptions(inputs) : undefined,
        mint: inputs.mint && mintOptions(inputs, inputs.mint),
        cli: inputs.cliVersion ? cliOptions(inputs) : undefined,
        exportEnv: inputs.exportEnv,
        exportActor: actor.export,
        env: process.env,
        journal: newJournal(inputs.configDir),
        clock: realClock
      },
      actionFrontend(inputs.logout)
    )
    await writeSummary(result)
  } catch (error) {
    return fail(error, secrets)
  }
}

/** The run, for the audit actor (core/actor.ts). */
function gitHubRun(): RunContext {
  return {
    repository: process.env.GITHUB_REPOSITORY,
    workflow: process.env.GITHUB_WORKFLOW,
    runId: process.env.GITHUB_RUN_ID,
    runAttempt: process.env.GITHUB_RUN_ATTEMPT,
    user: process.env.GITHUB_ACTOR
  }
}

function keyrollOptions(inputs: Inputs): NonNullable<Parameters<typeof runFlow>[0]['keyroll']> {
  return {
    timeoutMs: inputs.keyrollTimeoutMs,
    passwordNext: inputs.passwordNext || undefined,
    store: inputs.updateSecret
      ? secretStore(inputs, inputs.updateSecret, inputs.updateSecretEnvironment)
      : undefined
  }
}

/** A GitHub Actions secret the core writes a key through, with github-token. */
function secretStore(inputs: Inputs, name: string, environment?: string) {
  return gitHubSecretStoreFromEnv(process.env, {
    token: inputs.githubToken,
    name,
    environment: environment || undefined,
    clock: realClock,
    log: actionLog,
    naming: INPUT_NAMING,
    retryForMs: inputs.retryForMs
  })
}

function instancesKeyrollOptions(
  inputs: Inputs
): NonNullable<Parameters<typeof runFlow>[0]['instancesKeyroll']> {
  return {
    timeoutMs: inputs.keyrollTimeoutMs,
    sshKeyStore: inputs.sshKeySecret
      ? secretStore(inputs, inputs.sshKeySecret, inputs.updateSecretEnvironment)
      : undefined
  }
}

/** The job token: handed to later steps, or stored in token-secret (and, with revoke-tokens, after a key rotation). */
function mintOptions(inputs: Inputs, mint: MintSettings): NonNullable<Parameters<typeof runFlow>[0]['mint']> {
  return {
    ...mint,
    store: inputs.tokenSecret
      ? secretStore(inputs, inputs.tokenSecret, inputs.updateSecretEnvironment)
      : undefined,
    revoke: inputs.revokeTokens
      ? {
          timeoutMs: inputs.keyrollTimeoutMs,
          stored: inputs.storedRackUrl
            ? { value: inputs.storedRackUrl, source: 'The stored-rack-url input' }
            : undefined
        }
      : undefined
  }
}

function cliOptions(inputs: Inputs): NonNullable<Parameters<typeof runFlow>[0]['cli']> {
  // convox/convox's releases live on github.com. On GitHub Enterprise Server the job's API is
  // another host, and its token must not be sent to github.com.
  const server = process.env.GITHUB_SERVER_URL
  const onGitHubCom = !server || server === 'https://github.com'
  return {
    version: inputs.cliVersion,
    downloadUrl: inputs.cliDownloadUrl || undefined,
    token: onGitHubCom ? inputs.cliToken || undefined : undefined,
    apiUrl: onGitHubCom ? process.env.GITHUB_API_URL : undefined,
    platform: process.platform,
    arch: process.arch,
    toolCacheDir: process.env.RUNNER_TOOL_CACHE ?? '',
    tempDir: process.env.RUNNER_TEMP ?? '',
    downloader: toolCacheDownloader,
    programs: actionsExecRunner,
    environment: process.env,
    retryForMs: inputs.retryForMs,
    proxyEnv: process.env
  }
}

function fail(error: unknown, secrets: readonly string[]): void {
  core.setFailed(failureText(error, secretFormsOf(secrets)))
}

/** The inputs that hold secrets: keys (whose every form is masked) and tokens. */
function secretInputs(): { keys: string[]; tokens: string[] } {
  const given = (names: string[]) => names.map(name => core.getInput(name)).filter(Boolean)
  return {
    keys: given(['password', 'password-next', 'rack-url', 'stored-rack-url']),
    tokens: given(['github-token', 'cli-token'])
  }
}

const secretFormsOf = (secrets: readonly string[]) => secrets.flatMap(s => secretForms(s))

/** An error that escaped a step, in the core's words, with every form of every secret input redacted. */
export function escapedError(error: unknown): string {
  const { keys, tokens } = secretInputs()
  return unexpectedError(error, secretFormsOf([...keys, ...tokens]))
}

/** Undoes what main recorded. A problem here is a warning: the job's work is already done. */
export async function post(): Promise<void> {
  if (!state.mainRan()) {
    core.info('Nothing to undo: the main step did not run, or was stopped before it began.')
    return
  }
  const journalPath = state.journalPath()
  if (!journalPath) {
    core.info('Nothing to undo: the main step wrote no settings, or logout is false.')
    return
  }
  let journal: Journal
  try {
    journal = loadJournal(journalPath)
  } catch (error) {
    core.warning(`Could not undo the Convox login: ${(error as Error).message}`)
    return
  }
  try {
    undoSettings(journal, actionLog)
    core.info(`Restored the Convox settings in ${journal.dir} to what they were before this step.`)
  } catch (error) {
    core.warning(`Could not undo the Convox login: ${(error as Error).message}`)
  } finally {
    try {
      deleteJournal(journalPath)
    } catch (error) {
      // It holds the previous settings, other hosts' keys among them; the runner empties RUNNER_TEMP.
      core.warning(`Could not delete the undo journal ${journalPath}: ${(error as Error).message}`)
    }
  }
}
