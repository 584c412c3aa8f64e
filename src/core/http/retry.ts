import type { ApiRequest, ApiResponse, ConvoxApi } from '../api.ts'
import { NetworkError } from '../api.ts'
import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import type { HttpsAnswer } from './https.ts'
import type { Log } from '../log.ts'
import { REQUEST_TIMEOUT_MS } from './request-defaults.ts'

export interface Backoff {
  baseMs: number
  capMs: number
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, capMs: 10_000 }

/**
 * The least wait a server can ask for: `Retry-After: 0`, a date in the past or a tiny value taken
 * as it is would make the loop a storm of requests at a server that is already struggling.
 */
export const MIN_SERVER_WAIT_MS = 1000

/** 5xx and 429 are the load balancer or the API catching its breath; anything else is an answer. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429
}

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)), so many clients never march in step. */
export function fullJitterDelay(attempt: number, backoff: Backoff, random: number): number {
  return Math.floor(random * Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt))
}

/** `Retry-After` in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (!text) return undefined
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000
  // Anything else must be an HTTP date (RFC 9110: "Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse
  // alone would take "1.5" or "-1" for dates too.
  if (!/GMT$/.test(text.trim())) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

export interface RetryOptions {
  /** How long transient failures are retried, from the first attempt. */
  budgetMs: number
  clock: Clock
  log: Log
  backoff?: Backoff
}

/** Per attempt: long enough for a slow API, short enough that a hang cannot eat the whole budget. */
function attemptTimeout(remainingMs: number): number {
  return Math.min(REQUEST_TIMEOUT_MS, Math.max(2_000, remainingMs))
}

/** One request that retryTransient may send again. */
export interface RetryTarget {
  /** Names the request in the retry lines: `GET /auth on rack.example.com`. */
  label: string
  /** One attempt, with a timeout fitted to what is left of the budget (the target may keep its own). */
  send(timeoutMs: number): Promise<HttpsAnswer>
  /**
   * How long an answer asks to be waited out before the next try, or undefined when it does not:
   * an answer with a wait is retried even if its status is not transient (GitHub's rate limits
   * answer 403). By default, the Retry-After of a 5xx or 429.
   */
  waitFor?(answer: HttpsAnswer, nowMs: number): number | undefined
}

/**
 * The one retry loop of the action, for the Convox API, the GitHub API and the CLI's release
 * lookup: network errors, 5xx and 429 are tried again with full-jitter backoff (or the wait the
 * answer names), one log line per retry, until the budget runs out. Returns the first answer that
 * is not transient, or the last transient one; throws the last NetworkError when no answer came
 * at all, or at once when the error is not transient (DNS, TLS).
 */
export async function retryTransient(target: RetryTarget, options: RetryOptions): Promise<HttpsAnswer> {
  const { clock, log } = options
  const backoff = options.backoff ?? DEFAULT_BACKOFF
  const waitFor = target.waitFor ?? transientRetryAfter
  const start = clock.now()
  const deadline = start + options.budgetMs
  for (let attempt = 0; ; attempt++) {
    let failure: string
    let wait: number | undefined
    let outcome: HttpsAnswer | NetworkError
    try {
      outcome = await target.send(attemptTimeout(deadline - clock.now()))
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error
      outcome = error
    }
    if (outcome instanceof NetworkError) {
      if (!outcome.transient) throw outcome
      failure = describeNetworkError(outcome)
    } else {
      wait = waitFor(outcome, clock.now())
      if (!isTransientStatus(outcome.status) && wait === undefined) return outcome
      failure = `HTTP ${outcome.status}`
    }
    const jitter = fullJitterDelay(attempt, backoff, clock.random())
    const delay = wait === undefined ? jitter : Math.max(wait, MIN_SERVER_WAIT_MS, jitter)
    const now = clock.now()
    if (now + delay > deadline) {
      if (outcome instanceof NetworkError) throw outcome
      return outcome
    }
    log.info(
      `${target.label}: ${failure}; retry ${attempt + 1} in ${formatDuration(delay)} ` +
        `(${formatDuration(now - start)} of ${formatDuration(options.budgetMs)} spent)`
    )
    await clock.sleep(delay)
  }
}

function transientRetryAfter(answer: HttpsAnswer, nowMs: number): number | undefined {
  return isTransientStatus(answer.status) ? parseRetryAfter(answer.headers['retry-after'], nowMs) : undefined
}

/** A Convox API request through retryTransient. */
export function sendWithRetry(
  api: ConvoxApi,
  request: ApiRequest,
  options: RetryOptions
): Promise<ApiResponse> {
  return retryTransient(
    {
      label: `${request.method} ${request.path} on ${api.host}`,
      send: timeoutMs => api.send({ ...request, timeoutMs: request.timeoutMs ?? timeoutMs })
    },
    options
  )
}

export function describeNetworkError(error: NetworkError): string {
  switch (error.kind) {
    case 'dns':
      return 'host name not found'
    case 'refused':
      return 'connection refused'
    case 'reset':
      return 'connection reset'
    case 'timeout':
      return 'no answer in time'
    case 'tls':
      return `TLS failure (${error.code || error.message})`
    case 'plain-http':
      return 'speaks plain HTTP, not HTTPS'
    case 'proxy':
      return error.message
    default:
      return error.code || error.message
  }
}
