import { failureText } from '../core/errors.ts'
import { UsageError } from './args.ts'
import type { Ci } from './ci.ts'
import { buildkiteRedact } from './ci.ts'
import type { RunnerCommands } from './handover.ts'
import type { CliLog } from './log.ts'
import type { Target } from './options.ts'

/**
 * Where the command writes: stdout carries only what --format asks for, everything else goes to
 * stderr; the CI's own masking is called as each secret appears; a failure is one line.
 */

export const stderr = (text: string) => void process.stderr.write(text)
export const stdout = (text: string) => void process.stdout.write(text)

/** The masking a CI offers, for the log to call as each secret appears. */
export async function masking(ci: Ci, target: Target, env: Readonly<Record<string, string | undefined>>) {
  const runner = target === 'github' || ci.name === 'github' ? await import('@actions/core') : undefined
  let agentMissing = false
  return {
    runner: runner satisfies RunnerCommands | undefined,
    mask: (forms: string[]) => {
      if (runner) for (const form of forms) runner.setSecret(form)
      if (ci.name === 'buildkite' && !agentMissing && !buildkiteRedact(forms, env)) {
        agentMissing = true
        stderr('buildkite-agent is not on PATH, so the key is not added to the redactor of this job.\n')
      }
    }
  }
}

/** Exit status 1, with the sentence the action would fail with; a bug says so. */
export function failure(error: unknown, log: CliLog): number {
  if (error instanceof UsageError) throw error
  stderr(`convox-login: ${failureText(error, log.forms)}\n`)
  return 1
}
