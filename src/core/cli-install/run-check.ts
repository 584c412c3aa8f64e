import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ConvoxError } from '../errors.ts'
import { readHead } from './file-head.ts'
import { executableArch } from './release.ts'

/** How a program ran: its exit, and what it printed. */
export interface ProgramRun {
  /** null when it was ended by a signal. */
  exitCode: number | null
  signal: string | null
  stdout: string
  stderr: string
  /** It was still running after `timeoutMs`, and was killed. */
  timedOut: boolean
}

/** Starts programs for the core, which does not spawn them itself (src/toolkit/exec.ts does). */
export interface ProgramRunner {
  /**
   * Runs `file` with `args` and exactly `env`, without stdin, capturing its output rather than
   * showing it, and kills it after `timeoutMs`. Rejects with Node's spawn error (its `code`
   * ENOENT, EACCES, ENOEXEC) when the program cannot be started at all.
   */
  run(
    file: string,
    args: readonly string[],
    options: { env: Record<string, string>; timeoutMs: number }
  ): Promise<ProgramRun>
}

export interface RunCheckOptions {
  programs: ProgramRunner
  /** Where the empty settings and home directories go for the run; they are removed after it. */
  tempDir: string
  /** The environment the CLI would inherit: only what a program needs to start is passed on. */
  environment: Readonly<Record<string, string | undefined>>
  /** `process.arch`, to name it when the binary is built for another one. */
  arch: string
  timeoutMs: number
}

/**
 * What a program needs to start and a Go binary reads from outside: the search path, Windows' system
 * root and the temporary directory. Nothing else passes, so no CONVOX_* variable, RACK_URL or input
 * (the key among them) reaches the run, and it talks to no rack.
 */
const PASSED_ON = /^(PATH|SYSTEMROOT|TMPDIR|TEMP|TMP)$/i

/**
 * Runs `<binary> version` once: proof that the CLI runs on this runner, and the first line it prints
 * (`client: 3.24.9` for v3), cleaned for one log line. It runs with empty settings and home
 * directories, so it has no host to contact: v3 prints `server: none`; v2 prints its client line and,
 * in some releases, then exits 1 for want of a rack, which still proves it runs.
 */
export async function cliReports(binary: string, options: RunCheckOptions): Promise<string> {
  const scratch = mkdtempSync(join(options.tempDir, 'convox-version-'))
  const home = join(scratch, 'home')
  const config = join(scratch, 'config')
  mkdirSync(home)
  mkdirSync(config)
  const env: Record<string, string> = { HOME: home, USERPROFILE: home, CONVOX_CONFIG: config }
  for (const [name, value] of Object.entries(options.environment)) {
    if (value !== undefined && PASSED_ON.test(name)) env[name] = value
  }
  let run: ProgramRun
  try {
    run = await options.programs.run(binary, ['version'], { env, timeoutMs: options.timeoutMs })
  } catch (error) {
    throw doesNotRun(binary, startFailure(binary, error as NodeJS.ErrnoException, options.arch))
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  const reported = firstLine(run.stdout)
  if (run.timedOut) {
    throw doesNotRun(binary, `\`convox version\` did not finish within ${options.timeoutMs / 1000} s`)
  }
  if (run.exitCode === 0 || (run.exitCode !== null && reported.startsWith('client:'))) return reported
  const wrongArch = archMismatch(binary, options.arch)
  if (wrongArch) throw doesNotRun(binary, wrongArch)
  const said = firstLine(run.stderr) || reported
  const ended = run.signal ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`
  throw doesNotRun(binary, `\`convox version\` ${ended}${said ? ` (${said})` : ''}`)
}

function doesNotRun(binary: string, cause: string): ConvoxError {
  return new ConvoxError(`The Convox CLI at ${binary} does not run on this runner: ${cause}.`)
}

function startFailure(binary: string, error: NodeJS.ErrnoException, arch: string): string {
  if (error.code === 'EACCES') {
    return 'it may not be executed (EACCES): it lacks the execute permission, or its file system is mounted noexec'
  }
  if (error.code === 'ENOENT') {
    return existsSync(binary)
      ? 'its program loader is missing (ENOENT on an existing file): it is linked against a C library this runner does not have'
      : 'the file is gone (ENOENT)'
  }
  // ENOEXEC, or macOS's "Bad CPU type in executable", which Node has no name for.
  const built = archMismatch(binary, arch)
  if (built) return built
  if (error.code === 'ENOEXEC') return 'the system cannot execute it (ENOEXEC, Exec format error)'
  return `it could not be started (${error.code ?? error.message})`
}

/**
 * On Linux a wrong-architecture binary does not fail with ENOEXEC: like the C library's execvp,
 * Node hands a file the kernel refuses to /bin/sh, which exits 126 or 127 on its bytes. Its header
 * says what it really is.
 */
function archMismatch(binary: string, arch: string): string | undefined {
  let built: string | undefined
  try {
    built = executableArch(readHead(binary)[0])
  } catch {
    return undefined
  }
  return built && built !== arch ? `it is built for ${built}, and this runner is ${arch}` : undefined
}

/** The first non-empty line, without terminal escapes or control characters, at most 200 characters. */
export function firstLine(text: string): string {
  for (const line of text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').split(/[\r\n]+/)) {
    const clean = line.replace(/[\p{Cc}\p{Cf}]/gu, '').trim()
    if (clean) return clean.slice(0, 200)
  }
  return ''
}
