import { accessSync, constants, existsSync } from 'node:fs'
import type { ProgramRun, ProgramRunner } from '../core/cli-install/run-check.ts'

/** More than `convox version` prints; the rest of a longer output is not kept. */
const OUTPUT_LIMIT = 1024 * 1024

/**
 * Programs run through @actions/exec, the toolkit's runner (loaded at the first run only). Two
 * things it does not do are done here:
 * - A timeout: @actions/exec can neither time out nor kill its child. After `timeoutMs` the run
 *   is reported as timed out and the step goes on; the program, if it really hangs, is left to
 *   the runner, which ends a job's leftover processes when the job ends (a terminal keeps it
 *   until it ends by itself). `convox version` with empty settings talks to nothing, so this is
 *   a guard against a broken binary, not a normal path.
 * - Node's error code when the program cannot start: @actions/exec turns a missing file and one
 *   without the execute permission alike into "Unable to locate executable file", and a failed
 *   start into a sentence. The core names the cause from the code (run-check.ts), so it is
 *   recovered: from the file for the first, from the sentence (`spawn ... EACCES`) for the second.
 */
export const actionsExecRunner: ProgramRunner = {
  async run(file, args, { env, timeoutMs }) {
    const { exec } = await import('@actions/exec')
    const output = { stdout: '', stderr: '' }
    const keep = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      if (output[stream].length < OUTPUT_LIMIT) output[stream] += data.toString('utf8')
    }
    const finished = exec(file, [...args], {
      env,
      silent: true,
      ignoreReturnCode: true,
      listeners: { stdout: keep('stdout'), stderr: keep('stderr') }
    }).then(
      (exitCode): ProgramRun => ({
        exitCode,
        signal: exitCode === null ? 'a signal' : null,
        ...output,
        timedOut: false
      }),
      (error: Error) => {
        throw startError(file, error)
      }
    )
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<ProgramRun>(resolve => {
      timer = setTimeout(
        () => resolve({ exitCode: null, signal: null, ...output, timedOut: true }),
        timeoutMs
      )
      // The step must not wait for the guard once the program is done.
      timer.unref()
    })
    try {
      return await Promise.race([finished, timedOut])
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The Node error code @actions/exec's sentence stands for, as run-check.ts reads it. */
function startError(file: string, error: Error): NodeJS.ErrnoException {
  let code = /\b(E[A-Z]{2,})\b/.exec(error.message)?.[1]
  if (!code && /Unable to locate executable file/.test(error.message)) {
    code = !existsSync(file) ? 'ENOENT' : executable(file) ? undefined : 'EACCES'
  }
  return Object.assign(new Error(error.message), { code })
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
