import type { ApiRequest, ApiResponse, ConvoxApi } from './api.ts'
import { NetworkError } from './api.ts'
import type { Clock } from './clock.ts'
import { formatDuration } from './clock.ts'
import type { Log } from './log.ts'

export interface Backoff {
  baseMs: number
  capMs: number
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, capMs: 10_000 }

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
  return Math.min(15_000, Math.max(2_000, remainingMs))
}

/**
 * Sends a request, retrying network errors, 5xx and 429 until the budget runs out. Returns the
 * first answer that is not transient, or the last transient one; throws the last NetworkError
 * when no answer came at all, or at once when the error is not transient (DNS, TLS).
 */
export async function sendWithRetry(
  api: ConvoxApi,
  request: ApiRequest,
  options: RetryOptions
): Promise<ApiResponse> {
  const { clock, log } = options
  const backoff = options.backoff ?? DEFAULT_BACKOFF
  const start = clock.now()
  const deadline = start + options.budgetMs
  for (let attempt = 0; ; attempt++) {
    let failure: string
    let retryAfter: number | undefined
    let outcome: ApiResponse | NetworkError
    try {
      outcome = await api.send({
        ...request,
        timeoutMs: request.timeoutMs ?? attemptTimeout(deadline - clock.now())
      })
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error
      outcome = error
    }
    if (outcome instanceof NetworkError) {
      if (!outcome.transient) throw outcome
      failure = describeNetworkError(outcome)
    } else {
      if (!isTransientStatus(outcome.status)) return outcome
      failure = `HTTP ${outcome.status}`
      retryAfter = parseRetryAfter(outcome.headers['retry-after'], clock.now())
    }
    const delay = retryAfter ?? fullJitterDelay(attempt, backoff, clock.random())
    const now = clock.now()
    if (now + delay > deadline) {
      if (outcome instanceof NetworkError) throw outcome
      return outcome
    }
    log.info(
      `${request.method} ${request.path} on ${api.host}: ${failure}; retry ${attempt + 1} in ${formatDuration(delay)} ` +
        `(${formatDuration(now - start)} of ${formatDuration(options.budgetMs)} spent)`
    )
    await clock.sleep(delay)
  }
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
    default:
      return error.code || error.message
  }
}
