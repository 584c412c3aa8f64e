import type { Clock } from '../clock.ts'
import { ConvoxError, InputError } from '../errors.ts'
import { gitHubHeaders } from '../http/github-api.ts'
import type { HttpsAnswer } from '../http/https.ts'
import { parseJson } from '../http/json.ts'
import type { Log } from '../log.ts'
import type { ProxyEnv } from '../http/proxy.ts'
import { answered, isSuccess, RestClient } from '../http/rest.ts'
import { parseRetryAfter } from '../http/retry.ts'
import type { SecretStore } from './store.ts'
import type { Naming } from '../naming.ts'

export interface GitHubSecretStoreOptions {
  /** GITHUB_API_URL: `https://api.github.com`, or `https://<host>/api/v3` on GitHub Enterprise Server. */
  apiUrl: string
  /** GITHUB_REPOSITORY: `owner/repo`. */
  repository: string
  token: string
  /** The secret holding the live key; the pending one is `<name>_NEXT`. */
  name: string
  /** Environment secrets of this environment instead of repository secrets. */
  environment?: string
  tls?: { caCert?: string }
  /** The proxy variables of the environment (HTTPS_PROXY, NO_PROXY); none means a direct connection. */
  proxyEnv?: ProxyEnv
  clock: Clock
  log: Log
  /** How the front end names its options (the token's among them), for the sentences below. */
  naming: Naming
  /** How long network errors, 5xx, 429 and rate limits are retried, per request. */
  retryForMs?: number
}

/** `<name>` is written after the rack already took the new key: outlasting a GitHub hiccup beats failing there. */
const DEFAULT_RETRY_MS = 5 * 60_000

interface PublicKey {
  key_id: string
  key: string
}

/**
 * The keyroll's key pair kept as GitHub Actions secrets, through the REST API. Every write is
 * sealed with the repository's (or environment's) public key, so the key never travels in clear.
 */
export class GitHubSecretStore implements SecretStore {
  private readonly options: GitHubSecretStoreOptions
  /** Secrets path of the scope, below the API root: `repos/o/r/actions/secrets` or the environment's. */
  private readonly scopePath: string
  private readonly rest: RestClient
  private publicKey: PublicKey | undefined

  constructor(options: GitHubSecretStoreOptions) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(options.repository)) {
      throw new InputError(`The repository "${options.repository}" is not of the form owner/repo.`)
    }
    this.options = options
    const [owner, repo] = options.repository.split('/').map(encodeURIComponent)
    this.scopePath =
      options.environment === undefined
        ? `repos/${owner}/${repo}/actions/secrets`
        : `repos/${owner}/${repo}/environments/${encodeURIComponent(options.environment)}/secrets`
    this.rest = new RestClient({
      apiUrl: options.apiUrl,
      name: 'GitHub',
      headers: gitHubHeaders(options.token),
      secret: options.token,
      caCert: options.tls?.caCert,
      proxyEnv: options.proxyEnv,
      clock: options.clock,
      log: options.log,
      retryForMs: options.retryForMs ?? DEFAULT_RETRY_MS,
      // Also waits out GitHub's rate limits.
      waitFor: rateLimitDelay
    })
  }

  describe(which: 'current' | 'next'): string {
    const { environment, repository } = this.options
    const secret = this.secretName(which)
    return environment === undefined
      ? `repository secret ${secret} of ${repository}`
      : `secret ${secret} of environment ${environment} in ${repository}`
  }

  writeNext(key: string): Promise<void> {
    return this.write('next', key)
  }

  writeCurrent(key: string): Promise<void> {
    return this.write('current', key)
  }

  async deleteNext(): Promise<void> {
    const what = `delete ${this.describe('next')}`
    const answer = await this.rest.request({ what, method: 'DELETE', path: this.secretPath('next') })
    // Already gone is what we wanted. In a keyroll the same token wrote this secret moments
    // before, so a 404 means it is gone, not that the token cannot see the repository.
    if (answer.status === 404) return
    if (!isSuccess(answer.status)) throw this.failure(what, answer)
  }

  private async write(which: 'current' | 'next', key: string): Promise<void> {
    this.options.log.secret(key)
    const what = `write ${this.describe(which)}`
    const publicKey = await this.getPublicKey(what)
    const body = { encrypted_value: await seal(key, publicKey.key), key_id: publicKey.key_id }
    const answer = await this.rest.request({ what, method: 'PUT', path: this.secretPath(which), body })
    if (!isSuccess(answer.status)) throw this.failure(what, answer)
  }

  private async getPublicKey(what: string): Promise<PublicKey> {
    if (this.publicKey) return this.publicKey
    const answer = await this.rest.request({ what, path: `${this.scopePath}/public-key` })
    if (!isSuccess(answer.status)) throw this.failure(what, answer)
    const parsed = parseJson(answer.body) as Partial<PublicKey> | undefined
    if (typeof parsed?.key_id !== 'string' || typeof parsed.key !== 'string') {
      throw new ConvoxError(
        `Could not ${what}: ${this.rest.base.href} answered the public-key request without a key; check that it is the GitHub API URL.`
      )
    }
    this.publicKey = { key_id: parsed.key_id, key: parsed.key }
    return this.publicKey
  }

  private secretName(which: 'current' | 'next'): string {
    return which === 'next' ? `${this.options.name}_NEXT` : this.options.name
  }

  private secretPath(which: 'current' | 'next'): string {
    return `${this.scopePath}/${encodeURIComponent(this.secretName(which))}`
  }

  private failure(what: string, answer: HttpsAnswer): ConvoxError {
    const { environment, repository, naming } = this.options
    const token = naming.ref('github-token')
    const said = githubMessage(answer.body, this.rest)
    const suffix = said ? ` (GitHub: "${said}")` : ''
    let cause: string
    if (answer.status === 401) {
      cause = `GitHub answered 401, so the ${token} is invalid or expired`
    } else if (rateLimitDelay(answer, this.options.clock.now()) !== undefined) {
      cause = `GitHub answered ${answer.status} because the token's API rate limit is used up; run the keyroll again later`
    } else if (answer.status === 403 || answer.status === 404) {
      const access =
        'a fine-grained token needs the repository permissions "Secrets: read and write"' +
        (environment === undefined ? '' : ' and "Environments: read and write"') +
        ', a classic token the repo scope, and GITHUB_TOKEN can never write secrets'
      cause =
        environment === undefined
          ? `GitHub answered ${answer.status}, so the ${token} may not write secrets of ${repository}: ${access}`
          : `GitHub answered ${answer.status}, so environment ${environment} does not exist in ${repository} or the ` +
            `${token} may not write its secrets: ${access}`
    } else if (answer.status >= 300 && answer.status < 400) {
      const location = this.rest.said(String(answer.headers.location ?? ''))
      cause = `GitHub answered ${answer.status}, a redirect${location ? ` to ${location}` : ''}: check GITHUB_API_URL`
    } else {
      cause = answered(this.rest, answer)
    }
    return new ConvoxError(`Could not ${what}: ${cause}${suffix}.`)
  }

  close(): void {
    this.rest.close()
  }
}

/** The store for the repository the running workflow belongs to, from the variables every job has (and the proxy's). */
export function gitHubSecretStoreFromEnv(
  env: NodeJS.ProcessEnv,
  options: Omit<GitHubSecretStoreOptions, 'apiUrl' | 'repository' | 'proxyEnv'>
): GitHubSecretStore {
  const repository = env.GITHUB_REPOSITORY
  if (!repository) {
    throw new InputError(
      `GITHUB_REPOSITORY is not set, so there is no repository to keep the key in: ${options.naming.ref('update-secret')} works only in a GitHub Actions job.`
    )
  }
  return new GitHubSecretStore({
    ...options,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    repository,
    proxyEnv: env
  })
}

/**
 * A libsodium sealed box of the UTF-8 value, base64 with padding, as GitHub requires. libsodium
 * is loaded here, not at start, so a login that writes no secret never pays for it. Its ESM build
 * exports the functions only on the default export, and only once `ready` has resolved.
 */
async function seal(value: string, publicKeyBase64: string): Promise<string> {
  const { default: sodium } = await import('libsodium-wrappers')
  await sodium.ready
  const publicKey = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL)
  return sodium.to_base64(sodium.crypto_box_seal(value, publicKey), sodium.base64_variants.ORIGINAL)
}

/**
 * GitHub's secondary rate limits answer 403 or 429 with Retry-After, its primary limit with
 * `x-ratelimit-remaining: 0` and a reset time: those are waits, not refusals.
 */
function rateLimitDelay(answer: HttpsAnswer, nowMs: number): number | undefined {
  if (answer.status !== 403 && answer.status !== 429) return undefined
  const retryAfter = parseRetryAfter(answer.headers['retry-after'], nowMs)
  if (retryAfter !== undefined) return retryAfter
  const reset = Number(answer.headers['x-ratelimit-reset'])
  if (answer.headers['x-ratelimit-remaining'] !== '0' || !Number.isFinite(reset)) return undefined
  return Math.max(0, reset * 1000 - nowMs)
}

/** The `message` of a GitHub error body; never the token, should a proxy echo the request. */
function githubMessage(body: string, rest: RestClient): string | undefined {
  const message = (parseJson(body) as { message?: unknown } | undefined)?.message
  return typeof message === 'string' && message ? rest.said(message) || undefined : undefined
}
