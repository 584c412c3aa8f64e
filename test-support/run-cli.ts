import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { secretForms } from '../src/core/secrets.ts'
import { testTls } from './tls.ts'

/**
 * Runs the bundled command (dist/convox-login.cjs) as a child process, as a CI job would: in a
 * machine of its own (a temporary HOME, state and cache directories), with only the environment
 * the test gives it on top of PATH, so that the CI variables of whatever runs the tests never
 * leak in.
 */

export const CLI = path.resolve(import.meta.dirname, '..', 'dist', 'convox-login.cjs')

export interface Machine {
  root: string
  home: string
  /** A directory outside HOME for files the test hands over (BASH_ENV, key files). */
  work: string
}

export function machinePool(): { fresh: () => Machine; removeAll: () => void } {
  const machines: Machine[] = []
  return {
    fresh: () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-cli-'))
      const machine = { root, home: path.join(root, 'home'), work: path.join(root, 'work') }
      fs.mkdirSync(machine.home)
      fs.mkdirSync(machine.work)
      machines.push(machine)
      return machine
    },
    removeAll: () => {
      for (const m of machines) fs.rmSync(m.root, { recursive: true, force: true })
    }
  }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: Record<string, string>
  stdin?: string
  cwd?: string
  /** Directories put before the system PATH (a fake buildkite-agent). */
  path?: string[]
  /** Leave NODE_EXTRA_CA_CERTS unset: the command must trust the fake through --ca-cert-file. */
  untrusted?: boolean
  timeoutMs?: number
}

export async function runCli(
  machine: Machine,
  args: readonly string[],
  options: CliOptions = {}
): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: [...(options.path ?? []), process.env.PATH ?? ''].join(path.delimiter),
    HOME: machine.home,
    ...(options.untrusted ? {} : { NODE_EXTRA_CA_CERTS: testTls().caPath }),
    ...options.env
  }
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? machine.work,
    env,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stderr += chunk))
  child.stdin.end(options.stdin ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/**
 * The leak rule for the command: no form of a secret on stderr, and on stdout only in the lines
 * whose job is to hand the key over (`allowed`), in the one form a shell or CI reads there.
 */
export function cliLeaks(
  result: Pick<CliResult, 'stdout' | 'stderr'>,
  secrets: readonly string[],
  options: { host?: string; allowed?: (line: string) => boolean } = {}
): string[] {
  const forms = secrets.flatMap(s => secretForms(s, options.host))
  const leaks: string[] = []
  for (const [stream, text] of [
    ['stdout', result.stdout],
    ['stderr', result.stderr]
  ] as const) {
    for (const line of text.split('\n')) {
      if (stream === 'stdout' && options.allowed?.(line)) continue
      for (const form of forms) if (line.includes(form)) leaks.push(`${stream}: ${line}`)
    }
  }
  return leaks
}

/** The lines of each format that exist to hand the key over. */
export const KEY_LINES = {
  sh: (line: string) => /^export (CONVOX_PASSWORD|RACK_URL)=/.test(line),
  fish: (line: string) => /^set -gx (CONVOX_PASSWORD|RACK_URL) /.test(line),
  pwsh: (line: string) => /^\$env:(CONVOX_PASSWORD|RACK_URL) = /.test(line),
  dotenv: (line: string) => /^(CONVOX_PASSWORD|RACK_URL)=/.test(line),
  azure: (line: string) =>
    /^##vso\[task\.setvariable variable=(CONVOX_PASSWORD|RACK_URL);issecret=true\]/.test(line),
  github: (line: string) => line.startsWith('::add-mask::'),
  none: () => false
} as const

/** Evaluates sh output in a real bash and prints the variables it set, NUL-separated. */
export async function evalInBash(
  script: string,
  names: readonly string[],
  env: Record<string, string> = {},
  cwd?: string
): Promise<Record<string, string | undefined>> {
  const printer = names.map(n => `if [ -n "\${${n}+x}" ]; then printf '%s=%s\\0' ${n} "$${n}"; fi`).join('; ')
  const child = spawn('bash', ['--norc', '--noprofile', '-c', `eval "$(cat)"; ${printer}`], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout.on('data', c => (out += c))
  child.stderr.on('data', c => (err += c))
  child.stdin.end(script)
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0 || err) throw new Error(`bash failed (${code}): ${err}`)
  const result: Record<string, string | undefined> = {}
  for (const pair of out.split('\0').filter(Boolean)) {
    const at = pair.indexOf('=')
    result[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return result
}
