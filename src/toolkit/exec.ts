import type { ProgramRunner } from '../core/cli-install/run-check.ts'

/** More than `convox version` prints; a program that prints more is stopped. */
const OUTPUT_LIMIT = 1024 * 1024

/**
 * Programs run with node:child_process rather than @actions/exec: @actions/exec 3.0 has no timeout
 * and no way to reach the child to kill it, reports a failed start as text without its error code,
 * and its own `which` turns both a missing file and one without the execute permission into
 * "Unable to locate executable file".
 *
 * Synchronously: the step has nothing else to do meanwhile, and spawnSync skips the streams and
 * sockets an asynchronous child needs, which made a first run take about 13 ms instead of 4.
 * At the timeout it kills the program and closes the pipes, even when a process the program
 * started still holds them. node:child_process is loaded at the first run only.
 */
export const childProcessRunner: ProgramRunner = {
  async run(file, args, { env, timeoutMs }) {
    const { spawnSync } = await import('node:child_process')
    const result = spawnSync(file, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: OUTPUT_LIMIT,
      windowsHide: true
    })
    const stopped = (result.error as NodeJS.ErrnoException | undefined)?.code
    // ETIMEDOUT and ENOBUFS: it started, and was stopped; anything else: it never started.
    if (result.error && stopped !== 'ETIMEDOUT' && stopped !== 'ENOBUFS') throw result.error
    return {
      exitCode: result.status,
      signal: result.signal,
      stdout: result.stdout ?? '',
      stderr: result.stderr ?? '',
      // Not when the program itself exited and only a process it started kept the pipes open.
      timedOut: stopped === 'ETIMEDOUT' && result.status === null
    }
  }
}
