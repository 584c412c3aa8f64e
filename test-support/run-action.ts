import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { secretForms } from '../src/core/secrets.ts'
import { testTls } from './tls.ts'

/**
 * Runs the bundled action (dist/index.cjs) as a child process exactly as a runner does: inputs as
 * INPUT_* variables, and real GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY and
 * GITHUB_PATH files, RUNNER_TEMP, a temporary HOME and workspace.
 */

export const DIST = path.resolve(import.meta.dirname, '..', 'dist', 'index.cjs')
/** The post step's entry (action.yml runs.post). */
export const POST_DIST = path.resolve(import.meta.dirname, '..', 'dist', 'post.cjs')

/** One job's machine: directories that outlive a step, as on a runner. */
export interface Runner {
  root: string
  home: string
  temp: string
  workspace: string
  toolCache: string
  /** Variables exported by earlier steps (GITHUB_ENV), applied to later ones as the runner does. */
  jobEnv: Record<string, string>
  /** Directories added to PATH by earlier steps (GITHUB_PATH). */
  jobPath: string[]
}

export function newRunner(): Runner {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-runner-'))
  const dirs = ['home', 'temp', 'workspace', 'tool-cache'].map(d => path.join(root, d))
  for (const d of dirs) fs.mkdirSync(d)
  const [home, temp, workspace, toolCache] = dirs as [string, string, string, string]
  return { root, home, temp, workspace, toolCache, jobEnv: {}, jobPath: [] }
}

export function removeRunner(runner: Runner): void {
  fs.rmSync(runner.root, { recursive: true, force: true })
}

/** Runners for a test file: `fresh()` makes one, `removeAll()` (in afterAll) cleans them all up. */
export function runnerPool(): { fresh: () => Runner; removeAll: () => void } {
  const runners: Runner[] = []
  return {
    fresh: () => {
      const runner = newRunner()
      runners.push(runner)
      return runner
    },
    removeAll: () => {
      for (const runner of runners) removeRunner(runner)
    }
  }
}

export interface StepResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Variables this step exported. */
  env: Record<string, string>
  outputs: Record<string, string>
  /** What the step saved with saveState, to hand to its post step. */
  state: Record<string, string>
  summary: string
  path: string[]
  /** Wall-clock time from spawn to exit. */
  durationMs: number
  /** The `::error::` message, decoded; undefined when the step did not fail. */
  error?: string
}

export interface StepOptions {
  /** Extra process environment (e.g. GITHUB_REPOSITORY, GITHUB_API_URL). */
  env?: Record<string, string>
  /** Run as the post step with this main step's saved state. */
  postOf?: StepResult
  /** Run as a post step without a main step's state (main never ran). */
  post?: boolean
  /** Called with the child once it is running (kill tests). */
  onSpawn?: (child: import('node:child_process').ChildProcess, stdout: () => string) => void
  timeoutMs?: number
  /** Options for node itself, before the bundle (the bench's memory probe, the bundle test's load probe). */
  nodeArgs?: string[]
}

/** Runs the step trusting only the CA given in its ca-cert input: the harness's NODE_EXTRA_CA_CERTS is cleared. */
export function runStepTrustingInputs(
  runner: Runner,
  inputs: Record<string, string>,
  options: StepOptions = {}
): Promise<StepResult> {
  return runStep(runner, inputs, { ...options, env: { NODE_EXTRA_CA_CERTS: '', ...options.env } })
}

/** Parses the `name<<delimiter` format of GITHUB_ENV, GITHUB_OUTPUT and GITHUB_STATE. */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!)
    if (match) {
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]!)
      result[match[1]!] = value.join('\n')
    } else if (lines[i]!.includes('=')) {
      const [name, ...rest] = lines[i]!.split('=')
      result[name!] = rest.join('=')
    }
  }
  return result
}

export async function runStep(
  runner: Runner,
  inputs: Record<string, string>,
  options: StepOptions = {}
): Promise<StepResult> {
  const stepDir = fs.mkdtempSync(path.join(runner.root, 'step-'))
  const files = Object.fromEntries(
    ['env', 'output', 'state', 'summary', 'path'].map(name => {
      const file = path.join(stepDir, name)
      fs.writeFileSync(file, '')
      return [name, file]
    })
  ) as Record<'env' | 'output' | 'state' | 'summary' | 'path', string>
  const env: Record<string, string> = {
    PATH: [...runner.jobPath, process.env.PATH ?? ''].join(path.delimiter),
    HOME: runner.home,
    RUNNER_TEMP: runner.temp,
    RUNNER_TOOL_CACHE: runner.toolCache,
    GITHUB_WORKSPACE: runner.workspace,
    GITHUB_ENV: files.env,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_PATH: files.path,
    GITHUB_ACTIONS: 'true',
    NODE_EXTRA_CA_CERTS: testTls().caPath,
    ...runner.jobEnv,
    ...options.env
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value
  for (const [name, value] of Object.entries(options.postOf?.state ?? {})) env[`STATE_${name}`] = value

  const started = performance.now()
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.postOf || options.post ? POST_DIST : DIST],
    {
      cwd: runner.workspace,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    }
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stderr += chunk))
  options.onSpawn?.(child, () => stdout)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve =>
    child.on('close', (c, s) => resolve([c, s]))
  )
  clearTimeout(timer)
  const durationMs = performance.now() - started

  const read = (file: string) => fs.readFileSync(file, 'utf8')
  const result: StepResult = {
    code,
    signal,
    stdout,
    stderr,
    env: parseFileCommands(read(files.env)),
    outputs: parseFileCommands(read(files.output)),
    state: parseFileCommands(read(files.state)),
    summary: read(files.summary),
    path: read(files.path).split('\n').filter(Boolean),
    durationMs
  }
  const error = /^::error::(.*)$/m.exec(stdout)?.[1]
  if (error !== undefined) result.error = decodeCommand(error)
  Object.assign(runner.jobEnv, result.env)
  runner.jobPath.unshift(...result.path)
  return result
}

/**
 * A step's stdout as a person sees it in the runner's log: the runner hides each `::add-mask::`
 * line and from then on shows the value it registered as `***`, wherever it appears; it shows a
 * group as a heading to fold, errors and warnings by their kind, and debug lines not at all.
 */
export function runnerView(stdout: string): string {
  const masked: string[] = []
  const shown: string[] = []
  for (const line of stdout.split('\n')) {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line)
    const [name, text] = command ? [command[1]!, decodeCommand(command[2]!)] : ['', line]
    if (name === 'add-mask') {
      if (text) masked.push(text)
      // Longest first, so a value that contains another is masked whole.
      masked.sort((a, b) => b.length - a.length)
      continue
    }
    if (name === 'endgroup' || name === 'debug') continue
    const prefix = { group: '▾ ', error: 'Error: ', warning: 'Warning: ', notice: 'Notice: ' }[name] ?? ''
    shown.push(prefix + masked.reduce((all, value) => all.split(value).join('***'), text))
  }
  return shown.join('\n')
}

function decodeCommand(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/**
 * The leak rule: no line of stdout or stderr but `::add-mask::` lines holds any form of a secret.
 * Secrets given as inputs are masked before any other line; keys made during the step (a
 * keyroll's new key) must be masked too, and the first rule keeps them out of every other line.
 */
export function findLeaks(
  step: Pick<StepResult, 'stdout' | 'stderr'>,
  inputSecrets: readonly string[],
  options: { host?: string; made?: readonly string[] } = {}
): string[] {
  const all = [...inputSecrets, ...(options.made ?? [])]
  const forms = all.flatMap(s => secretForms(s, options.host))
  const leaks: string[] = []
  for (const [stream, text] of [
    ['stdout', step.stdout],
    ['stderr', step.stderr]
  ] as const) {
    for (const line of text.split('\n')) {
      if (line.startsWith('::add-mask::')) continue
      for (const form of forms) if (line.includes(form)) leaks.push(`${stream}: ${line}`)
    }
  }
  const lines = step.stdout.split('\n')
  const firstOther = lines.findIndex(l => !l.startsWith('::add-mask::'))
  for (const secret of all) {
    // A workflow command escapes %, CR and LF: a RACK_URL with a percent-encoded key is masked as %25.
    const maskAt = lines.findIndex(l => l.startsWith('::add-mask::') && decodeCommand(l.slice(12)) === secret)
    if (maskAt < 0) leaks.push(`no ::add-mask:: line for a secret of length ${secret.length}`)
    else if (inputSecrets.includes(secret) && firstOther >= 0 && firstOther < maskAt) {
      leaks.push(`an input secret is masked only at line ${maskAt + 1}, after other output`)
    }
  }
  return leaks
}

/** Every file under a directory that contains any form of a secret (the workspace must have none). */
export function filesContaining(dir: string, secrets: readonly string[]): string[] {
  const forms = secrets.flatMap(s => secretForms(s))
  const found: string[] = []
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const text = fs.readFileSync(file, 'utf8')
    if (forms.some(f => text.includes(f))) found.push(file)
  }
  return found
}
