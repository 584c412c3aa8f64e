import type { ProgramRun, ProgramRunner } from '../core/cli-install/run-check.ts'

/** More than `convox version` prints; the rest of a runaway program's output is dropped. */
const OUTPUT_LIMIT = 64 * 1024

/**
 * Programs run with node:child_process rather than @actions/exec: @actions/exec 3.0 has no timeout
 * and no way to reach the child to kill it, reports a failed start as text without its error code,
 * and its own `which` turns both a missing file and one without the execute permission into
 * "Unable to locate executable file". node:child_process is loaded at the first run only.
 */
export const childProcessRunner: ProgramRunner = {
  async run(file, args, { env, timeoutMs }) {
    const { spawn } = await import('node:child_process')
    return new Promise<ProgramRun>((resolve, reject) => {
      const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
      const output = { stdout: '', stderr: '' }
      for (const name of ['stdout', 'stderr'] as const) {
        child[name].setEncoding('utf8')
        child[name].on('data', (chunk: string) => {
          if (output[name].length < OUTPUT_LIMIT) output[name] += chunk
        })
      }
      let timedOut = false
      let exited = false
      const timer = setTimeout(() => {
        timedOut = !exited
        child.kill('SIGKILL')
        // A process it started may hold the pipes open after it is gone.
        child.stdout.destroy()
        child.stderr.destroy()
      }, timeoutMs)
      child.on('exit', () => (exited = true))
      child.on('error', error => {
        clearTimeout(timer)
        reject(error)
      })
      child.on('close', (exitCode, signal) => {
        clearTimeout(timer)
        resolve({ exitCode, signal, timedOut, ...output })
      })
    })
  }
}
