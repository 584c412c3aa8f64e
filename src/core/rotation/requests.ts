import type { ApiRequest, ApiResponse } from '../api.ts'
import { NetworkError } from '../api.ts'
import type { Clock } from '../clock.ts'
import { errorField, parseJson } from '../http/json.ts'
import { describeNetworkError, isTransientStatus, parseRetryAfter, retryTransient } from '../http/retry.ts'
import { serverLine, serverText } from '../http/server-text.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import type { WindowTiming } from './window.ts'

/**
 * Every request the rotations send (docs/convox.md, sections 4 and 7), one attempt each except the
 * record read before anything changes: whether and when to ask again is the window's (window.ts).
 * Console's own routes go to Console; the rack's go through Console's proxy (`Rack:` header) on a
 * Console login, or to the rack on a direct one.
 */

/** The part of ConvoxApi the rotations use: an interface so the windows run on a virtual clock too. */
export interface RotationApi {
  readonly host: string
  send(request: ApiRequest): Promise<ApiResponse>
}

export interface RotationContext {
  api: RotationApi
  /** `org/rack` on a Console login; `''` for a rack reached directly. */
  rack: string
  /** The rack's name, for sentences. */
  name: string
  clock: Clock
  log: Log
  /** The front end's names for options, in every sentence. */
  naming: Naming
  timing: WindowTiming
  timeoutMs: number
  retryForMs: number
  /** Every form of every secret in play, removed from server text before it is quoted. */
  forms: string[]
  /** Counted for the figures: every request sent. */
  requests: number
}

/** Console's record of a rack (`pkg/console/rack.go`): `state` says Console holds its Terraform. */
export interface RackRecord {
  managed: boolean
  status: string
  version: string
}

export type Answer<T> =
  { ok: true; value: T } | { ok: false; reason: string; transient: boolean; retryAfterMs?: number }

function recordPath(rack: string): string {
  const [org, name] = rack.split('/')
  return `/racks/${encodeURIComponent(org!)}/${encodeURIComponent(name!)}`
}

async function once(ctx: RotationContext, request: ApiRequest): Promise<Answer<ApiResponse>> {
  ctx.requests++
  try {
    const response = await ctx.api.send({ timeoutMs: ctx.timing.requestTimeoutMs, ...request })
    if (response.status >= 200 && response.status < 300) return { ok: true, value: response }
    return {
      ok: false,
      reason: describe(ctx, response),
      transient: isTransientStatus(response.status),
      retryAfterMs: parseRetryAfter(response.headers['retry-after'], ctx.clock.now())
    }
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { ok: false, reason: describeNetworkError(error), transient: error.transient }
  }
}

/** The record, read with the login's retry-for: it decides what may be sent. */
export async function readRecordSteadily(ctx: RotationContext): Promise<Answer<RackRecord>> {
  try {
    const response = await retryTransient(
      {
        label: `GET ${recordPath(ctx.rack)} on ${ctx.api.host}`,
        send: timeoutMs => ctx.api.send({ method: 'GET', path: recordPath(ctx.rack), timeoutMs })
      },
      { budgetMs: ctx.retryForMs, clock: ctx.clock, log: ctx.log }
    )
    ctx.requests++
    if (response.status !== 200) return { ok: false, reason: describe(ctx, response), transient: false }
    return parseRecord(ctx, response)
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { ok: false, reason: describeNetworkError(error), transient: error.transient }
  }
}

export async function readRecord(ctx: RotationContext): Promise<Answer<RackRecord>> {
  const answer = await once(ctx, { method: 'GET', path: recordPath(ctx.rack) })
  return answer.ok ? parseRecord(ctx, answer.value) : answer
}

function parseRecord(ctx: RotationContext, response: ApiResponse): Answer<RackRecord> {
  const value = parseJson(response.body)
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { status?: unknown }).status !== 'string'
  ) {
    return { ok: false, reason: 'Console answered with something other than a rack record', transient: true }
  }
  const record = value as Record<string, unknown>
  const state = record.state
  return {
    ok: true,
    value: {
      managed: state !== undefined && state !== null && state !== '',
      status: serverText(String(record.status), ctx.forms, 40),
      version: typeof record.version === 'string' ? serverText(record.version, ctx.forms, 40) : ''
    }
  }
}

/** `GET /system`: the rack's status, through Console's proxy on a Console login. */
export async function readStatus(ctx: RotationContext): Promise<Answer<string>> {
  const answer = await once(ctx, { method: 'GET', path: '/system', rack: ctx.rack || undefined })
  if (!answer.ok) return answer
  const value = parseJson(answer.value.body) as { status?: unknown } | undefined
  if (typeof value !== 'object' || value === null || typeof value.status !== 'string') {
    return { ok: false, reason: 'GET /system answered with something other than rack JSON', transient: true }
  }
  return { ok: true, value: serverText(value.status, ctx.forms, 40) }
}

/**
 * `PUT /racks/<org>/<rack>` with rack parameters, as the v3 CLI sends them for a rack Console
 * manages (`pkg/rack/console.go` UpdateParams): `params` a JSON object of strings, the rack's
 * current `version`, `force=false`. The one request that changes the rack here, with the POST below.
 */
export function updateParams(
  ctx: RotationContext,
  params: Record<string, string>,
  version: string
): Promise<Answer<ApiResponse>> {
  return once(ctx, {
    method: 'PUT',
    path: recordPath(ctx.rack),
    form: { params: JSON.stringify(params), version, force: 'false' },
    timeoutMs: ctx.timing.putTimeoutMs
  })
}

/** `POST /instances/keyroll`: v2 starts a CloudFormation update, v3 AWS makes a key pair and answers it. */
export async function instancesKeyroll(
  ctx: RotationContext
): Promise<Answer<ApiResponse> & { status?: number }> {
  ctx.requests++
  try {
    const response = await ctx.api.send({
      method: 'POST',
      path: '/instances/keyroll',
      rack: ctx.rack || undefined,
      timeoutMs: ctx.timing.putTimeoutMs
    })
    if (response.status >= 200 && response.status < 300)
      return { ok: true, value: response, status: response.status }
    return {
      ok: false,
      status: response.status,
      reason: describe(ctx, response),
      transient: isTransientStatus(response.status)
    }
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { ok: false, reason: describeNetworkError(error), transient: error.transient }
  }
}

/** `HTTP 400: <the server's words>`, cleaned as server text always is. */
export function describe(ctx: RotationContext, response: ApiResponse): string {
  const json = parseJson(response.body)
  let detail =
    json !== undefined ? (errorField(json) ?? '') : /^\s*</.test(response.body) ? '' : response.body
  detail = serverLine(detail, ctx.forms)
  return detail ? `HTTP ${response.status}: ${detail}` : `HTTP ${response.status}`
}
