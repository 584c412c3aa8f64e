import { chmodSync, existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'
import { classifyNetworkError } from '../api.ts'
import type { Clock } from '../clock.ts'
import { realClock } from '../clock.ts'
import { ConvoxError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import type { ProxyEnv } from '../http/proxy.ts'
import { describeNetworkError } from '../http/retry.ts'
import { probeDownloadHost, unreachableCause } from './download-probe.ts'
import { readHead } from './file-head.ts'
import { resolveLatest } from './latest.ts'
import type { CliAsset } from './release.ts'
import { checkExecutable, cliAsset, cliDownloadUrl, downloadStatusError } from './release.ts'
import type { ProgramRunner } from './run-check.ts'
import { cliReports } from './run-check.ts'

/** Fetches and stores the CLI for the core, which has no download client of its own (src/toolkit/tool-cache.ts has). */
export interface CliDownloader {
  /**
   * Saves what `url` serves as `file`, retrying what a CDN may fail transiently. Rejects with an
   * HttpStatusError when the server answers with an error status, with Node's error for a network failure.
   */
  download(url: string, file: string): Promise<void>
  /**
   * Copies `file` into `<toolCacheDir>/<tool>/<version>/<arch>/<name>`, then writes
   * `<toolCacheDir>/<tool>/<version>/<arch>.complete`: the layout of @actions/tool-cache, which isCached reads.
   */
  cache(file: string, entry: ToolCacheEntry): Promise<void>
}

export interface ToolCacheEntry {
  toolCacheDir: string
  tool: string
  version: string
  arch: string
  name: string
}

/** The download was answered with an error status. */
export class HttpStatusError extends Error {
  readonly status: number
  constructor(status: number) {
    super(`HTTP ${status}`)
    this.status = status
  }
}

export interface InstallCliOptions {
  /** `latest`, a v3 version `3.x.y` or a v2 timestamp, as inputs.ts accepts them. */
  version: string
  /** A mirror template with `{version}`, `{asset}` and `{os}` (release.ts); empty for GitHub and S3. */
  downloadUrl?: string
  /** Sent to the GitHub API only, to resolve `latest` past the anonymous rate limit; never to a download. */
  token?: string
  /** GITHUB_API_URL; https://api.github.com when empty. */
  apiUrl?: string
  platform: NodeJS.Platform
  /** `process.arch`: it names the tool cache's arch directory, as tool-cache's own default does. */
  arch: string
  /** The runner's tool cache (RUNNER_TOOL_CACHE). */
  toolCacheDir: string
  /** A directory the runner empties after the job (RUNNER_TEMP): the download and the version run use it. */
  tempDir: string
  downloader: CliDownloader
  programs: ProgramRunner
  /** The environment later steps get, of which the version run keeps only what a program needs to start. */
  environment: Readonly<Record<string, string | undefined>>
  log: Log
  /** The front end's names for the options its sentences suggest (cli-download-url, cli-version). */
  naming: Naming
  clock?: Clock
  /** How long resolving `latest` retries network errors, 5xx and 429; 60s when omitted. */
  retryForMs?: number
  /**
   * The proxy variables of the environment (HTTPS_PROXY, NO_PROXY) for resolving `latest` and the
   * probe before a download; the download itself is tool-cache's, which reads them from the
   * environment on its own.
   */
  proxyEnv?: ProxyEnv
  /** How long `convox version` may run before it is killed; 20s when omitted. */
  versionTimeoutMs?: number
}

export interface InstalledCli {
  /** The exact version, also when `latest` was asked for. */
  version: string
  /** The executable. */
  path: string
  /** Its directory: the caller puts it on PATH for this step and the later ones. */
  dir: string
  /** Found in the runner's tool cache: nothing was downloaded. */
  cached: boolean
}

const TOOL = 'convox'
const VERSION_TIMEOUT_MS = 20_000

/**
 * Installs the Convox CLI into the runner's tool cache (the caller puts its directory on PATH), and
 * runs it once with `version` to prove it runs here. An exact version already in the cache costs
 * no request at all; `latest` costs one to the GitHub API.
 */
export async function installCli(options: InstallCliOptions): Promise<InstalledCli> {
  const { platform, arch, log } = options
  // Before any request: `latest` is v3 too, so v3 on Windows is refused without asking GitHub.
  const asset = cliAsset(options.version, platform, arch, options.naming)
  if (!options.toolCacheDir || !options.tempDir) {
    throw new ConvoxError(
      'RUNNER_TOOL_CACHE or RUNNER_TEMP is not set, so the Convox CLI has nowhere to go: run on a GitHub Actions runner or set both.'
    )
  }
  const version = options.version === 'latest' ? await resolveLatest(options) : options.version
  const toolDir = join(options.toolCacheDir, TOOL, version, arch)
  const binary = join(toolDir, asset.binary)
  const cached = isCached(toolDir, binary)
  if (cached) log.info(`Convox CLI ${version} is in the tool cache: ${toolDir}`)
  else await download(cliDownloadUrl(version, asset, options.downloadUrl), version, asset, options)
  let reported: string
  try {
    reported = await cliReports(binary, {
      programs: options.programs,
      tempDir: options.tempDir,
      environment: options.environment,
      arch,
      timeoutMs: options.versionTimeoutMs ?? VERSION_TIMEOUT_MS
    })
  } catch (error) {
    // What this step put into the cache goes again, so that the next job does not find it there.
    if (!cached) removeFromCache(toolDir)
    throw error
  }
  if (!cached) log.info(`Installed Convox CLI ${version} in ${toolDir}`)
  log.info(`Convox CLI reports: ${reported || '(nothing)'}`)
  return { version, path: binary, dir: toolDir, cached }
}

/**
 * tool-cache's own test, in its layout (lib/tool-cache.js, `find` and `cacheFile`):
 * `<RUNNER_TOOL_CACHE>/<tool>/<version>/<arch>`, with `<arch>.complete` written last; its
 * `semver.clean` leaves our versions as they are. Done here for two reasons. `tc.find` only considers semver names, so it
 * never finds a v2 timestamp. And a hit should cost next to nothing: loading tool-cache's bundle
 * (dist/vendor/tool-cache.cjs, with its own @actions/core and undici) costs far more than a whole
 * login (docs/bundler.md), so the downloader loads it on a miss only.
 */
function isCached(toolDir: string, binary: string): boolean {
  return existsSync(`${toolDir}.complete`) && existsSync(binary)
}

/** The entry cacheFile made, and the version and tool directories it made for it when they are left empty. */
function removeFromCache(toolDir: string): void {
  rmSync(`${toolDir}.complete`, { force: true })
  rmSync(toolDir, { recursive: true, force: true })
  const versionDir = dirname(toolDir)
  for (const dir of [versionDir, dirname(versionDir)]) {
    if (readdirSync(dir).length > 0) return
    rmdirSync(dir)
  }
}

async function download(
  url: string,
  version: string,
  asset: CliAsset,
  options: InstallCliOptions
): Promise<void> {
  const { downloader, log, toolCacheDir, arch } = options
  const mirror = !!options.downloadUrl
  log.info(`Downloading Convox CLI ${version} from ${url}`)
  const unreachableHost = await probeDownloadHost(url, {
    proxyEnv: options.proxyEnv,
    clock: options.clock ?? realClock
  })
  if (unreachableHost)
    throw unreachable(url, unreachableCause(unreachableHost), version, mirror, options.naming)
  const file = join(options.tempDir, randomUUID())
  try {
    try {
      // The downloader retries network errors, 408, 429 and 5xx itself, and Node fails a body cut
      // short of its Content-Length, so a second retry loop would only add waits.
      await downloader.download(url, file)
    } catch (error) {
      if (error instanceof HttpStatusError) {
        throw downloadStatusError(url, error.status, version, asset, mirror, options.naming)
      }
      const cause = describeNetworkError(classifyNetworkError(error as NodeJS.ErrnoException))
      throw new ConvoxError(`Downloading the Convox CLI from ${url} failed: ${cause}.`)
    }
    const problem = checkExecutable(url, ...readHead(file), options.platform, options.naming)
    if (problem) throw problem
    chmodSync(file, 0o755)
    await downloader.cache(file, { toolCacheDir, tool: TOOL, version, arch, name: asset.binary })
  } finally {
    rmSync(file, { force: true })
  }
}

/**
 * A download host that cannot be reached: the host is named, with what to change in the words
 * of the front end (`cli-download-url` or `--download-url`).
 */
function unreachable(
  url: string,
  cause: string,
  version: string,
  mirror: boolean,
  naming: Naming
): ConvoxError {
  const { host } = new URL(url)
  const downloadUrl = naming.ref('cli-download-url')
  const pinned = `${naming.ref('cli-version')} ${version}`
  const advice = mirror
    ? `check the host in ${downloadUrl}, and that the mirror has ${pinned}`
    : `if this machine cannot reach ${host}, set ${downloadUrl} to a mirror it can reach that has ${pinned}`
  return new ConvoxError(`Could not download the Convox CLI from ${host}: ${cause} (${url}); ${advice}.`)
}
