import { rootCertificates } from 'node:tls'
import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import { ConvoxError, InputError } from '../errors.ts'
import type { Log } from '../log.ts'
import { secretForms } from '../secrets.ts'
import type { HttpsAnswer } from './https.ts'
import { HttpsClient, httpsTarget, NetworkError } from './https.ts'
import type { ProxyEnv } from './proxy.ts'
import { USER_AGENT } from './request-defaults.ts'
import type { RetryTarget } from './retry.ts'
import { describeNetworkError, isTransientStatus, retryTransient } from './retry.ts'
import { serverLine } from './server-text.ts'

/**
 * The one client for the REST APIs a CI gives us (the GitHub API for its secrets and the CLI's
 * latest release, GitLab's for its CI/CD variables), on the project's HttpsClient and
 * retryTransient. The Convox API has its own (api.ts): its paths, Basic credentials and answers
 * are Convox's.
 *
 *     const rest = new RestClient({ apiUrl, name: 'GitHub', headers: { Authorization: `Bearer ${t}` },
 *       secret: t, clock, log, retryForMs })
 *     try {
 *       const answer = await rest.request({ what: 'write secret X', method: 'PUT', path: 'repos/o/r/...', body })
 *       if (!isSuccess(answer.status)) throw new ConvoxError(`Could not write secret X: ${answered(rest, answer)}.`)
 *     } finally {
 *       rest.close()
 *     }
 *
 * `request` resolves with every answer, the error statuses included: what a 401 or a 404 means
 * is the caller's to say. It rejects only with a ConvoxError when no answer came (the one "no
 * answer" sentence), or with an InputError the constructor already gave for an unusable URL.
 */

export interface RestClientOptions {
  /**
   * The API root as the CI gives it (GITHUB_API_URL, CI_API_V4_URL): request paths resolve below
   * it, so GitHub Enterprise Server's `/api/v3` and GitLab's `/api/v4` are kept.
   */
  apiUrl: string
  /** Whose API, in sentences: `GitHub`, `GitLab`. */
  name: string
  /** Where `apiUrl` comes from, told when it is not a URL at all: `set CI_API_V4_URL, such as ...`. */
  hint?: string
  /** Sent with every request: the credential, the media type, the API version. */
  headers: Record<string, string>
  /**
   * The credential in `headers`, if any: masked here at once, and taken out of every server text
   * quoted (`said`), in every form, should a proxy echo the request.
   */
  secret?: string
  /** A CA trusted besides Node's roots (a GitHub Enterprise Server with a private CA). */
  caCert?: string
  /** The proxy variables (HTTPS_PROXY, NO_PROXY) as the adapter read them; none means direct. */
  proxyEnv?: ProxyEnv
  clock: Clock
  log: Log
  /** How long network errors, 5xx and 429 (and answers `waitFor` names) are retried, per request. */
  retryForMs: number
  /** How long an answer asks to be waited out (rate limits); by default a 5xx's or 429's Retry-After. */
  waitFor?: RetryTarget['waitFor']
}

export interface RestCall {
  /** What the request is for, after "Could not": `write repository secret X of o/r`. */
  what: string
  method?: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'
  /** Below the API root, query included: `repos/o/r/actions/secrets/X` (a leading / is ignored). */
  path: string
  /** Sent as JSON. */
  body?: unknown
  /** What the user can do instead, appended to the "no answer" sentence. */
  advice?: string
}

export class RestClient {
  /** The API root as a directory URL, for sentences that name it. */
  readonly base: URL
  readonly name: string
  private readonly options: RestClientOptions
  private readonly secrets: readonly string[]
  private readonly client: HttpsClient

  /** Throws an InputError when `apiUrl` is not an https:// URL. */
  constructor(options: RestClientOptions) {
    this.base = apiBase(options.apiUrl, options.name, options.hint)
    this.name = options.name
    this.options = options
    if (options.secret) options.log.secret(options.secret)
    this.secrets = options.secret ? secretForms(options.secret) : []
    this.client = new HttpsClient({
      ca: options.caCert ? [...rootCertificates, options.caCert] : undefined,
      proxyEnv: options.proxyEnv
    })
  }

  /** The URL of a path below the API root. */
  url(path: string): URL {
    return new URL(path.replace(/^\/+/, ''), this.base)
  }

  /**
   * Sends one call, retried within `retryForMs`; resolves with the first answer that is not
   * transient, or the last transient one.
   */
  async request(call: RestCall): Promise<HttpsAnswer> {
    const { clock, log } = this.options
    const method = call.method ?? 'GET'
    const url = this.url(call.path)
    const text = call.body === undefined ? undefined : JSON.stringify(call.body)
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
      ...this.options.headers
    }
    if (text !== undefined) headers['Content-Type'] = 'application/json'
    const start = clock.now()
    try {
      return await retryTransient(
        {
          label: `${method} ${url.pathname} on ${url.host}`,
          send: timeoutMs =>
            this.client.request(httpsTarget(url), {
              method,
              headers,
              body: text,
              timeoutMs
            }),
          waitFor: this.options.waitFor
        },
        { budgetMs: this.options.retryForMs, clock, log }
      )
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error
      // Tried for the whole budget or given up at once (DNS, TLS): the user should know which.
      const spent = error.transient ? `, still after ${formatDuration(clock.now() - start)}` : ''
      const advice = call.advice ? `; ${call.advice}` : ''
      throw new ConvoxError(
        `Could not ${call.what}: no answer from ${this.base.origin} (${describeNetworkError(error)}${spent})${advice}.`
      )
    }
  }

  /** Text the server sent (a `message` field, a Location), fit to quote: see serverLine. */
  said(text: string): string {
    return serverLine(text, this.secrets)
  }

  /** Closes the pooled connections: call it when the last request is done. */
  close(): void {
    this.client.close()
  }
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300
}

/** `GitHub answered 503 until the retries ran out`: an error status, as the start of a cause. */
export function answered(rest: RestClient, answer: HttpsAnswer): string {
  const retried = isTransientStatus(answer.status) ? ' until the retries ran out' : ''
  return `${rest.name} answered ${answer.status}${retried}`
}

function apiBase(apiUrl: string, name: string, hint = ''): URL {
  let url: URL
  try {
    url = new URL(apiUrl)
  } catch {
    throw new InputError(`The ${name} API URL "${apiUrl}" is not a URL${hint ? `: ${hint}` : ''}.`)
  }
  if (url.protocol !== 'https:') throw new InputError(`The ${name} API URL ${apiUrl} does not use https://.`)
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url
}
