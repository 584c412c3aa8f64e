import * as core from '@actions/core'
import { homedir } from 'node:os'
import { resolveActor } from '../core/actor.ts'
import { realClock } from '../core/clock.ts'
import { ConvoxError } from '../core/errors.ts'
import { describeErrno } from '../core/fs-errors.ts'
import type { Frontend } from '../core/flow.ts'
import { runFlow } from '../core/flow.ts'
import { gitHubSecretStoreFromEnv } from '../core/stores/github.ts'
import { redact, secretForms } from '../core/secrets.ts'
import type { Journal } from '../core/settings/journal.ts'
import { newJournal } from '../core/settings/journal.ts'
import { INPUT_NAMING } from '../core/naming.ts'
import { undoSettings } from '../core/settings/settings.ts'
import { actionsExecRunner } from '../toolkit/exec.ts'
import { toolCacheDownloader } from '../toolkit/tool-cache.ts'
import type { Inputs } from './inputs.ts'
import { parseInputs } from './inputs.ts'
import { deleteJournal, journalDir, loadJournal, saveJournal } from './journal-file.ts'
import { actionLog } from './log.ts'
import { state } from './state.ts'
import { writeSummary } from './summary.ts'

/**
 * The GitHub Action: a thin adapter between the runner (inputs, outputs, masking, state,
 * summary) and the Convox logic in src/core, which runs the login (core/flow.ts). Main and post
 * sit side by side; post undoes exactly what main recorded.
 */
export async function run(): Promise<void> {
  state.markMainRan()
  // Mask before anything can print, even before the inputs are checked.
  const keys = [
    core.getInput('password'),
    core.getInput('password-next'),
    core.getInput('rack-url'),
    core.getInput('stored-rack-url')
  ].filter(Boolean)
  for (const key of keys) actionLog.secret(key)
  const tokens = [core.getInput('github-token'), core.getInput('cli-token')].filter(Boolean)
  for (const token of tokens) core.setSecret(token)
  const secrets = [...keys, ...tokens]

  let inputs: Inputs
  try {
    inputs = parseInputs(name => core.getInput(name), {
      home: homedir(),
      workspace: process.env.GITHUB_WORKSPACE
    })
  } catch (error) {
    return fail(error, secrets)
  }
  // The key inside rack-url, percent-decoded: a form the raw input's mask does not cover.
  if (!secrets.includes(inputs.password)) {
    actionLog.secret(inputs.password)
    secrets.push(inputs.password)
  }
  if (inputs.insecure) {
    core.warning(
      `insecure is true: the TLS certificate of ${inputs.host} is not verified, so a machine in the middle could read the key.`
    )
  }

  const actor = resolveActor({
    input: inputs.actor,
    jobActor: process.env.CONVOX_ACTOR,
    run: {
      repository: process.env.GITHUB_REPOSITORY,
      workflow: process.env.GITHUB_WORKFLOW,
      runId: process.env.GITHUB_RUN_ID,
      runAttempt: process.env.GITHUB_RUN_ATTEMPT,
      user: process.env.GITHUB_ACTOR
    }
  })
  const journal = newJournal(inputs.configDir)
  let journalPath = ''
  const frontend: Frontend = {
    log: actionLog,
    naming: INPUT_NAMING,
    publish: ({ env, clear, outputs }) => {
      for (const name of clear) core.exportVariable(name, '')
      for (const [name, value] of Object.entries(env)) core.exportVariable(name, value)
      for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
    },
    // Called before the settings change: if the post step could not find what to undo, the key
    // would stay on the runner after the job, so a journal that cannot be saved stops the step.
    saveJournal: (next: Journal) => {
      if (!inputs.logout || (next.entries.length === 0 && !journalPath)) return
      try {
        journalPath = saveJournal(next, journalPath)
        state.setJournalPath(journalPath)
      } catch (error) {
        const cause = describeErrno(error) ?? (error as Error).message
        throw new ConvoxError(
          `Cannot save the undo record in ${journalDir()} (${cause}), so the post step could not remove the key: ` +
            `the settings in ${next.dir} were left as they were. Check that RUNNER_TEMP is a directory this job can write, ` +
            'or set logout: false to keep the settings after the job.'
        )
      }
    },
    addPath: dir => core.addPath(dir)
  }
  try {
    const result = await runFlow(
      {
        login: {
          host: inputs.host,
          password: inputs.password,
          user: inputs.credential.user,
          actor: actor.value,
          rack: inputs.rack,
          validate: inputs.validate,
          configDir: inputs.configDir,
          // The proxy variables (HTTPS_PROXY, NO_PROXY) as the runner set them: core reads no environment.
          connection: {
            caCert: inputs.caCert || undefined,
            insecure: inputs.insecure,
            proxyEnv: process.env
          },
          retryForMs: inputs.retryForMs
        },
        keyroll: inputs.keyroll
          ? {
              timeoutMs: inputs.keyrollTimeoutMs,
              passwordNext: inputs.passwordNext || undefined,
              store: inputs.updateSecret
                ? gitHubSecretStoreFromEnv(process.env, {
                    token: inputs.githubToken,
                    name: inputs.updateSecret,
                    environment: inputs.updateSecretEnvironment || undefined,
                    clock: realClock,
                    log: actionLog,
                    retryForMs: inputs.retryForMs
                  })
                : undefined
            }
          : undefined,
        mint: inputs.mint && {
          ...inputs.mint,
          store: inputs.tokenSecret
            ? gitHubSecretStoreFromEnv(process.env, {
                token: inputs.githubToken,
                name: inputs.tokenSecret,
                environment: inputs.updateSecretEnvironment || undefined,
                clock: realClock,
                log: actionLog,
                retryForMs: inputs.retryForMs
              })
            : undefined,
          revoke: inputs.revokeTokens
            ? {
                timeoutMs: inputs.keyrollTimeoutMs,
                stored: inputs.storedRackUrl
                  ? { value: inputs.storedRackUrl, source: 'The stored-rack-url input' }
                  : undefined
              }
            : undefined
        },
        cli: inputs.cliVersion ? cliOptions(inputs) : undefined,
        exportEnv: inputs.exportEnv,
        exportActor: actor.export,
        env: process.env,
        journal,
        clock: realClock
      },
      frontend
    )
    await writeSummary(result)
  } catch (error) {
    return fail(error, secrets)
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
  const forms = secrets.flatMap(s => secretForms(s))
  if (error instanceof ConvoxError) core.setFailed(redact(error.message, forms))
  else core.setFailed(unexpectedError(error, forms))
}

/** What to say of an error that is not a ConvoxError: a bug, to be reported, with any secret form redacted. */
export function unexpectedError(error: unknown, forms: readonly string[] = []): string {
  return `Unexpected error in convox-login (please report it): ${redact(String((error as Error)?.stack ?? error), forms)}`
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
