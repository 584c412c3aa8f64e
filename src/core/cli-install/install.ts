import { chmodSync, closeSync, existsSync, fstatSync, openSync, readSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { classifyNetworkError, NetworkError } from '../api.ts'
import type { Clock } from '../clock.ts'
import { formatDuration, realClock } from '../clock.ts'
import { ConvoxError } from '../errors.ts'
import type { HttpsAnswer } from '../https.ts'
import { HttpsClient, httpsTarget } from '../https.ts'
import type { Log } from '../log.ts'
import { REQUEST_TIMEOUT_MS, USER_AGENT } from '../request-defaults.ts'
import type { ProxyEnv } from '../proxy.ts'
import { describeNetworkError, isTransientStatus, retryTransient } from '../retry.ts'
import type { CliAsset } from './release.ts'
import {
  checkExecutable,
  cliAsset,
  cliDownloadUrl,
  DEFAULT_GITHUB_API_URL,
  downloadStatusError,
  latestReleaseUrl,
  latestTag
} from './release.ts'

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
  log: Log
  clock?: Clock
  /** How long resolving `latest` retries network errors, 5xx and 429; 60s when omitted. */
  retryForMs?: number
  /**
   * The proxy variables of the environment (HTTPS_PROXY, NO_PROXY) for resolving `latest`; the
   * download itself is tool-cache's, which reads them from the environment on its own.
   */
  proxyEnv?: ProxyEnv
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
/** Enough for every header table checkExecutable reads (Mach-O load commands are the longest). */
const HEAD_BYTES = 64 * 1024

/**
 * Installs the Convox CLI into the runner's tool cache (the caller puts its directory on PATH).
 * Expects RUNNER_TOOL_CACHE and RUNNER_TEMP, as every runner sets them. An exact version already
 * in the cache costs no request at all; `latest` costs one to the GitHub API.
 */
export async function installCli(options: InstallCliOptions): Promise<InstalledCli> {
  const { platform, arch, log } = options
  // Before any request: `latest` is v3 too, so v3 on Windows is refused without asking GitHub.
  const asset = cliAsset(options.version, platform, arch)
  const root = toolCacheRoot()
  const version = options.version === 'latest' ? await resolveLatest(options) : options.version
  const toolDir = join(root, TOOL, version, arch)
  const binary = join(toolDir, asset.binary)
  const cached = isCached(toolDir, binary)
  if (cached) {
    log.info(`Convox CLI ${version} is in the tool cache: ${toolDir}`)
  } else {
    await download(cliDownloadUrl(version, asset, options.downloadUrl), version, asset, options)
    log.info(`Installed Convox CLI ${version} in ${toolDir}`)
  }
  return { version, path: binary, dir: toolDir, cached }
}

function toolCacheRoot(): string {
  const root = process.env.RUNNER_TOOL_CACHE
  if (!root || !process.env.RUNNER_TEMP) {
    throw new ConvoxError(
      'RUNNER_TOOL_CACHE or RUNNER_TEMP is not set, so the Convox CLI has nowhere to go: run on a GitHub Actions runner or set both.'
    )
  }
  return root
}

/**
 * tool-cache's own test, in its layout (lib/tool-cache.js, `find` and `cacheFile`):
 * `<RUNNER_TOOL_CACHE>/<tool>/<version>/<arch>`, with `<arch>.complete` written last; its
 * `semver.clean` leaves our versions as they are. Done here for two reasons. `tc.find` only considers semver names, so it
 * never finds a v2 timestamp. And a hit should cost next to nothing: loading tool-cache's bundle
 * (dist/vendor/tool-cache.cjs, with its own @actions/core and undici) takes about 90 ms on Node 24,
 * while a whole hit adds 1-7 ms to a login (npm run bench). So tool-cache is imported on a miss only.
 */
function isCached(toolDir: string, binary: string): boolean {
  return existsSync(`${toolDir}.complete`) && existsSync(binary)
}

async function download(
  url: string,
  version: string,
  asset: CliAsset,
  options: InstallCliOptions
): Promise<void> {
  options.log.info(`Downloading Convox CLI ${version} from ${url}`)
  const tc = await import('@actions/tool-cache')
  let file: string
  try {
    // It retries network errors, 408, 429 and 5xx itself (3 attempts, 10-20 s apart), and
    // Node fails a body cut short of its Content-Length, so a second retry loop would only add waits.
    file = await tc.downloadTool(url)
  } catch (error) {
    if (error instanceof tc.HTTPError) {
      throw downloadStatusError(url, error.httpStatusCode ?? 0, version, asset, !!options.downloadUrl)
    }
    const cause = describeNetworkError(classifyNetworkError(error as NodeJS.ErrnoException))
    throw new ConvoxError(`Downloading the Convox CLI from ${url} failed: ${cause}.`)
  }
  try {
    const problem = checkExecutable(url, ...readHead(file), options.platform)
    if (problem) throw problem
    chmodSync(file, 0o755)
    await tc.cacheFile(file, asset.binary, TOOL, version, options.arch)
  } finally {
    rmSync(file, { force: true })
  }
}

function readHead(file: string): [Buffer, number] {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES))
    readSync(fd, head, 0, head.length, 0)
    return [head, size]
  } finally {
    closeSync(fd)
  }
}

/** The tag of the latest release, retried like the Convox API (retry.ts) within `retryForMs`. */
async function resolveLatest(options: InstallCliOptions): Promise<string> {
  const { log } = options
  const clock = options.clock ?? realClock
  const budgetMs = options.retryForMs ?? 60_000
  const url = latestReleaseUrl(options.apiUrl || DEFAULT_GITHUB_API_URL)
  const headers: Record<string, string> = {
    Accept: 'application/vnd.github+json',
    'User-Agent': USER_AGENT,
    'X-GitHub-Api-Version': '2022-11-28'
  }
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  const client = new HttpsClient({ proxyEnv: options.proxyEnv })
  const start = clock.now()
  const stillAfter = (failure: string) =>
    latestFailure(url, `${failure}, still after ${formatDuration(clock.now() - start)}`)
  let answer: HttpsAnswer
  try {
    answer = await retryTransient(
      {
        label: `GET ${url}`,
        send: () => client.request(httpsTarget(url), { headers, timeoutMs: REQUEST_TIMEOUT_MS })
      },
      { budgetMs, clock, log }
    )
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    const failure = describeNetworkError(error)
    throw error.transient ? stillAfter(failure) : latestFailure(url, failure)
  } finally {
    client.close()
  }
  if (isTransientStatus(answer.status)) throw stillAfter(`HTTP ${answer.status}`)
  const version = latestTag(url, answer.status, answer.body, answer.headers['x-ratelimit-remaining'])
  log.info(`The latest Convox CLI is ${version}`)
  return version
}

function latestFailure(url: string, cause: string): ConvoxError {
  return new ConvoxError(
    `Asking ${url} for the latest Convox CLI failed: ${cause}; pin cli-version to a version such as 3.24.9 to skip this.`
  )
}
