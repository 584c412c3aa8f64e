import type { RunContext } from '../core/actor.ts'
import { spawnSync } from 'node:child_process'

/**
 * Which CI runs the command, told by the variables each one sets in every job, and what that CI
 * offers: how later steps get variables (the `auto` format), how a secret is kept out of its
 * log, where its checkout is (settings must not go there).
 */

export type CiName = 'github' | 'circleci' | 'azure' | 'buildkite' | 'gitlab' | 'other'

export interface Ci {
  name: CiName
  /** For messages: `GitLab CI`. */
  title: string
  /** The checkout, where a later step could commit or upload the key. */
  workspace?: string
  /** A place outside it for settings, to suggest, as a shell step of this CI writes it. */
  tempSuggestion: string
}

type Env = Readonly<Record<string, string | undefined>>

/**
 * The run, in each CI's own variables, for the audit actor (core/actor.ts): the project, the
 * pipeline, the build and who started it.
 */
export function ciRun(ci: Ci, env: Env): RunContext {
  switch (ci.name) {
    case 'github':
      return {
        repository: env.GITHUB_REPOSITORY,
        workflow: env.GITHUB_WORKFLOW,
        runId: env.GITHUB_RUN_ID,
        runAttempt: env.GITHUB_RUN_ATTEMPT,
        user: env.GITHUB_ACTOR
      }
    case 'gitlab':
      return { repository: env.CI_PROJECT_PATH, runId: env.CI_PIPELINE_ID, user: env.GITLAB_USER_LOGIN }
    case 'circleci':
      return {
        repository:
          env.CIRCLE_PROJECT_USERNAME &&
          `${env.CIRCLE_PROJECT_USERNAME}/${env.CIRCLE_PROJECT_REPONAME ?? ''}`,
        workflow: env.CIRCLE_JOB,
        runId: env.CIRCLE_BUILD_NUM,
        user: env.CIRCLE_USERNAME
      }
    case 'azure':
      return {
        repository: env.BUILD_REPOSITORY_NAME,
        workflow: env.BUILD_DEFINITIONNAME,
        runId: env.BUILD_BUILDID,
        user: env.BUILD_REQUESTEDFOR
      }
    case 'buildkite':
      return {
        repository: env.BUILDKITE_PIPELINE_SLUG,
        runId: env.BUILDKITE_BUILD_NUMBER,
        user: env.BUILDKITE_BUILD_CREATOR
      }
    default:
      // Jenkins names its job and build; a terminal names nothing, and sends no actor unless asked.
      return { workflow: env.JOB_NAME, runId: env.BUILD_NUMBER }
  }
}

const yes = (value: string | undefined) => value?.toLowerCase() === 'true'

export function detectCi(env: Env): Ci {
  if (yes(env.GITHUB_ACTIONS)) {
    return {
      name: 'github',
      title: 'GitHub Actions',
      workspace: env.GITHUB_WORKSPACE,
      tempSuggestion: '$RUNNER_TEMP/convox'
    }
  }
  if (yes(env.CIRCLECI)) {
    return {
      name: 'circleci',
      title: 'CircleCI',
      workspace: env.CIRCLE_WORKING_DIRECTORY?.replace(/^~(?=\/|$)/, env.HOME ?? '~'),
      tempSuggestion: '/tmp/convox'
    }
  }
  // Azure sets TF_BUILD to True, with a capital.
  if (yes(env.TF_BUILD)) {
    return {
      name: 'azure',
      title: 'Azure Pipelines',
      workspace: env.BUILD_SOURCESDIRECTORY,
      tempSuggestion: '$(Agent.TempDirectory)/convox'
    }
  }
  if (yes(env.BUILDKITE)) {
    return {
      name: 'buildkite',
      title: 'Buildkite',
      workspace: env.BUILDKITE_BUILD_CHECKOUT_PATH,
      tempSuggestion: '"$(mktemp -d)/convox"'
    }
  }
  if (yes(env.GITLAB_CI)) {
    return {
      name: 'gitlab',
      title: 'GitLab CI',
      workspace: env.CI_PROJECT_DIR,
      // Beside the checkout (CI_PROJECT_DIR is under it), one per job on a shared runner.
      tempSuggestion: '"$CI_BUILDS_DIR/convox-$CI_JOB_ID"'
    }
  }
  // Jenkins sets WORKSPACE for every build; a terminal has none.
  return {
    name: 'other',
    title: env.JENKINS_URL ? 'Jenkins' : 'this machine',
    workspace: env.JENKINS_URL ? env.WORKSPACE : undefined,
    tempSuggestion: '"$(mktemp -d)/convox"'
  }
}

/** What the CI masks by itself, said once per run where it does not mask the key for us. */
export function maskingNote(ci: Ci, stdoutFormat: boolean): string | undefined {
  switch (ci.name) {
    case 'circleci':
      return (
        'CircleCI masks only the values of project environment variables and contexts: keep the key in one, ' +
        'and a later step that prints CONVOX_PASSWORD or RACK_URL shows the masked value; a key made here (keyroll) is not masked.'
      )
    case 'gitlab':
      return (
        'GitLab masks only variables defined in its CI/CD settings: keep the key in a masked variable, and log in in each ' +
        'job that needs it rather than passing the login on.'
      )
    case 'azure':
      return stdoutFormat
        ? undefined
        : 'Azure Pipelines masks only secret variables, and --format is not azure here: the key is not masked in later steps.'
    default:
      return undefined
  }
}

/**
 * Buildkite redacts what `buildkite-agent redactor add` is given from the rest of the job's log;
 * the values go on stdin, never on its command line. False when the agent is not on PATH.
 */
export function buildkiteRedact(values: readonly string[], env: Env): boolean {
  const object = Object.fromEntries(values.map((value, i) => [`convox-login-${i}`, value]))
  const result = spawnSync('buildkite-agent', ['redactor', 'add', '--format', 'json'], {
    input: JSON.stringify(object),
    env: env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'ignore', 'pipe'],
    timeout: 10_000
  })
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return false
  if (result.error || result.status !== 0) {
    throw new Error(
      `buildkite-agent redactor add failed (${result.error?.message ?? `exit status ${result.status}`})`
    )
  }
  return true
}
