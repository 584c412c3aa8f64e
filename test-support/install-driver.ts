import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { InstallCliOptions, InstalledCli } from '../src/core/cli-install/install.ts'
import type { FakeMirror } from './fake-mirror.ts'

const run = promisify(execFile)
const module = (file: string) => new URL(`../src/${file}`, import.meta.url).href

/**
 * The installer runs where the action runs: a Node 24 process of its own, with a runner's
 * environment and the toolkit's downloader and program runner, as src/action/main.ts passes them,
 * trusting the fake's CA through NODE_EXTRA_CA_CERTS (tool-cache's HTTP client has no other way
 * in). tool-cache's own test hooks shorten its 10-20 s wait between retries.
 */
const DRIVER = `
globalThis.TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS = 0
globalThis.TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS = 0
const fs = await import('node:fs')
const { installCli } = await import(process.env.INSTALL_MODULE)
const { toolCacheDownloader } = await import(process.env.TOOL_CACHE_MODULE)
const { actionsExecRunner } = await import(process.env.EXEC_MODULE)
const { frontend, ...options } = JSON.parse(process.env.INSTALL_OPTIONS)
const naming = frontend === 'command'
  ? (await import(process.env.ARGS_MODULE)).FLAG_NAMING
  : (await import(process.env.NAMING_MODULE)).INPUT_NAMING
const lines = []
const log = { info: m => lines.push(m), warning: m => lines.push(m), debug: () => {}, secret: () => {} }
let outcome
try {
  outcome = { result: await installCli({
    toolCacheDir: process.env.RUNNER_TOOL_CACHE,
    tempDir: process.env.RUNNER_TEMP,
    downloader: toolCacheDownloader,
    programs: actionsExecRunner,
    environment: process.env,
    ...options,
    naming,
    log
  }) }
} catch (error) {
  outcome = { error: { name: error.name, message: error.message } }
}
fs.writeFileSync(process.env.OUTCOME_FILE, JSON.stringify({ ...outcome, log: lines }))
// While the test counts the connections still open to its fakes.
if (process.env.LINGER_MS) await new Promise(resolve => setTimeout(resolve, Number(process.env.LINGER_MS)))
// As the action's steps do: a CLI that hangs is given up on, not waited for.
process.exit(0)
`

export type DriverOptions = Omit<
  InstallCliOptions,
  | 'log'
  | 'naming'
  | 'platform'
  | 'arch'
  | 'toolCacheDir'
  | 'tempDir'
  | 'downloader'
  | 'programs'
  | 'environment'
> &
  Partial<Pick<InstallCliOptions, 'platform' | 'arch'>> & {
    /** Whose names the sentences use: the action's inputs (the default) or the command's flags. */
    frontend?: 'action' | 'command'
  }

export interface InstallRunner {
  root: string
  toolCache: string
  temp: string
}

export interface Outcome {
  result?: InstalledCli
  error?: { name: string; message: string }
  log: string[]
}

const roots: string[] = []

/** A runner's tool cache and temp directory, removed by removeInstallRunners. */
export function newInstallRunner(): InstallRunner {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-cli-'))
  roots.push(root)
  const runner = {
    root,
    toolCache: path.join(root, 'tool-cache'),
    temp: path.join(root, 'temp')
  }
  fs.mkdirSync(runner.toolCache)
  fs.mkdirSync(runner.temp)
  return runner
}

export function removeInstallRunners(): void {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true })
}

/**
 * Installs in a driver process against `mirror` (its CA trusted, its URL the GitHub API's). With
 * `lingerMs` the driver stays alive that long after its outcome, and `openWhileAlive` counts the
 * connections it left open to the mirror meanwhile.
 */
export async function installInDriver(
  mirror: FakeMirror,
  runner: InstallRunner,
  options: DriverOptions,
  { lingerMs }: { lingerMs?: number } = {}
): Promise<Outcome & { openWhileAlive?: number }> {
  const outcomeFile = path.join(runner.root, 'outcome.json')
  const child = run(process.execPath, ['--input-type=module', '-e', DRIVER], {
    env: {
      PATH: process.env.PATH,
      RUNNER_TOOL_CACHE: runner.toolCache,
      RUNNER_TEMP: runner.temp,
      NODE_EXTRA_CA_CERTS: mirror.caPath,
      INSTALL_MODULE: module('core/cli-install/install.ts'),
      TOOL_CACHE_MODULE: module('toolkit/tool-cache.ts'),
      EXEC_MODULE: module('toolkit/exec.ts'),
      NAMING_MODULE: module('action/naming.ts'),
      ARGS_MODULE: module('cli/args.ts'),
      INSTALL_OPTIONS: JSON.stringify({
        platform: process.platform,
        arch: process.arch,
        apiUrl: mirror.url,
        ...options
      }),
      OUTCOME_FILE: outcomeFile,
      LINGER_MS: lingerMs ? String(lingerMs) : ''
    },
    // A CLI the installer failed to stop would keep the driver alive.
    timeout: 30_000
  })
  let openWhileAlive: number | undefined
  if (lingerMs) {
    // The driver is still running: what it did not close is still open here.
    while (!fs.existsSync(outcomeFile)) await new Promise(resolve => setTimeout(resolve, 20))
    await new Promise(resolve => setTimeout(resolve, 300))
    openWhileAlive = mirror.openConnections()
  }
  await child
  const outcome = JSON.parse(fs.readFileSync(outcomeFile, 'utf8')) as Outcome
  return openWhileAlive === undefined ? outcome : { ...outcome, openWhileAlive }
}
