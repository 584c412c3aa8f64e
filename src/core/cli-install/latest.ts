import { formatDuration, realClock } from '../clock.ts'
import { ConvoxError } from '../errors.ts'
import { gitHubHeaders } from '../http/github-api.ts'
import { RestClient } from '../http/rest.ts'
import { isTransientStatus } from '../http/retry.ts'
import type { InstallCliOptions } from './install.ts'
import { DEFAULT_GITHUB_API_URL, latestReleaseUrl, latestTag } from './release.ts'

const LATEST_RELEASE_PATH = 'repos/convox/convox/releases/latest'

/** The tag of convox/convox's latest release, asked of the GitHub API within `retryForMs` (60s when omitted). */
export async function resolveLatest(options: InstallCliOptions): Promise<string> {
  const { log, naming } = options
  const clock = options.clock ?? realClock
  const apiUrl = options.apiUrl || DEFAULT_GITHUB_API_URL
  const url = latestReleaseUrl(apiUrl)
  const skip = `pin ${naming.ref('cli-version')} to a version such as 3.24.9 to skip this`
  const rest = new RestClient({
    apiUrl,
    name: 'GitHub',
    headers: gitHubHeaders(options.token),
    secret: options.token,
    proxyEnv: options.proxyEnv,
    clock,
    log,
    retryForMs: options.retryForMs ?? 60_000
  })
  const start = clock.now()
  try {
    const what = `ask ${url} for the latest Convox CLI`
    const answer = await rest.request({ what, path: LATEST_RELEASE_PATH, advice: skip })
    if (isTransientStatus(answer.status)) {
      throw new ConvoxError(
        `Could not ${what}: GitHub answered ${answer.status}, still after ${formatDuration(clock.now() - start)}; ${skip}.`
      )
    }
    const version = latestTag(
      url,
      answer.status,
      answer.body,
      options.naming,
      answer.headers['x-ratelimit-remaining']
    )
    log.info(`The latest Convox CLI is ${version}`)
    return version
  } finally {
    rest.close()
  }
}
