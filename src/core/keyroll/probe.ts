import type { ApiResponse } from '../api.ts'
import { NetworkError } from '../api.ts'
import { errorField, parseJson } from '../http/json.ts'
import { describeNetworkError, isTransientStatus, parseRetryAfter } from '../http/retry.ts'
import { serverLine, serverText } from '../http/server-text.ts'
import type { Context, KeyrollApi } from './context.ts'

/**
 * One GET with one key, one attempt: what it tells about the key and the rack. Whether and when
 * to ask again is the caller's (watch.ts, preflight.ts, oldKeyRefused in ../keyroll.ts).
 */

/** What one authenticated GET /system tells: whether the key is accepted and, if so, the status. */
export type Probe =
  | { kind: 'accepted'; status: string; version: string }
  | { kind: 'rejected' }
  | { kind: 'failed'; reason: string; transient: boolean; retryAfterMs?: number }

export async function probe(
  ctx: Context,
  api: KeyrollApi,
  path: '/system' | '/auth' = '/system'
): Promise<Probe> {
  ctx.requests++
  let response: ApiResponse
  try {
    response = await api.send({ method: 'GET', path, timeoutMs: ctx.timing.requestTimeoutMs })
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { kind: 'failed', reason: describeNetworkError(error), transient: error.transient }
  }
  if (response.status === 401) return { kind: 'rejected' }
  if (response.status >= 200 && response.status < 300) {
    if (path === '/auth') return { kind: 'accepted', status: '', version: '' }
    const system = parseSystem(response.body)
    if (!system) {
      return {
        kind: 'failed',
        reason: 'GET /system answered with something other than rack JSON',
        transient: true
      }
    }
    return {
      kind: 'accepted',
      status: serverText(system.status, ctx.forms, 40),
      version: serverText(system.version, ctx.forms, 40)
    }
  }
  return {
    kind: 'failed',
    reason: describeAnswer(ctx, response),
    transient: isTransientStatus(response.status),
    retryAfterMs: parseRetryAfter(response.headers['retry-after'], ctx.clock.now())
  }
}

function parseSystem(body: string): { status: string; version: string } | undefined {
  const value = parseJson(body)
  if (typeof value !== 'object' || value === null) return undefined
  const { status, version } = value as Record<string, unknown>
  if (typeof status !== 'string') return undefined
  return { status, version: typeof version === 'string' ? version : '' }
}

/** `HTTP 400: <the rack's error>`, as server-text.ts makes it fit to quote: server text is not ours and could echo anything. */
export function describeAnswer(ctx: Context, response: ApiResponse): string {
  const json = parseJson(response.body)
  let detail: string
  if (json !== undefined) detail = errorField(json) ?? ''
  else detail = /^\s*</.test(response.body) ? '' : response.body
  detail = serverLine(detail, ctx.forms)
  const location = serverLine(String(response.headers.location ?? ''), ctx.forms)
  const status =
    response.status >= 300 && response.status < 400 && location
      ? `HTTP ${response.status} to ${location}`
      : `HTTP ${response.status}`
  return detail ? `${status}: ${detail}` : status
}
