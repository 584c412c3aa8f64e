import type { ApiResponse, ConvoxApi } from './api.ts'
import { NetworkError } from './api.ts'
import { formatDuration } from './clock.ts'
import { MINT_HINT } from './credential.ts'
import { ConvoxError } from './errors.ts'
import type { Naming } from './naming.ts'
import { errorField, parseJson } from './http/json.ts'
import type { RetryOptions } from './http/retry.ts'
import { isTransientStatus, sendWithRetry } from './http/retry.ts'
import { serverLine, serverText } from './http/server-text.ts'

/**
 * What the API says about a host and a key (docs/convox.md section 3), and the one sentence a
 * person needs when it says no.
 */

export type HostKind = 'console' | 'rack'

/** The host answered 401 to the key: the one failure a keyroll recovery can look past. */
export class RejectedKeyError extends ConvoxError {
  override name = 'RejectedKeyError'
}

export interface Identity {
  kind: HostKind
  /** Console user id; empty for deploy keys and racks. */
  userId: string
  /** How the key was checked, for the job summary. */
  checked: string
}

export interface ConsoleRack {
  name: string
  org: string
  status: string
  provider: string
  version: string
}

export interface SystemInfo {
  name: string
  status: string
  version: string
  provider: string
}

export interface ApiContext {
  api: ConvoxApi
  retry: RetryOptions
  /** Secrets, in every form (secretForms), to scrub from any server text quoted in a message. */
  secrets: readonly string[]
  /** How the front end names its options, for the sentences that say what to change. */
  naming: Naming
}

async function get(ctx: ApiContext, path: string, rack?: string): Promise<ApiResponse> {
  try {
    return await sendWithRetry(ctx.api, { method: 'GET', path, rack }, ctx.retry)
  } catch (error) {
    if (error instanceof NetworkError)
      throw networkFailure(ctx.api.host, error, ctx.retry.budgetMs, ctx.naming)
    throw error
  }
}

/** Detects Console or Rack from the answers to `GET /auth` and, for deploy keys, `GET /racks`. */
export async function identify(ctx: ApiContext): Promise<Identity> {
  const host = ctx.api.host
  const auth = await get(ctx, '/auth')
  if (auth.status === 200) {
    if (auth.body.trim() === 'ok') return { kind: 'rack', userId: '', checked: 'Rack API key (GET /auth)' }
    const id = parseJson(auth.body) as { id?: unknown } | undefined
    if (id && typeof id === 'object' && typeof id.id === 'string') {
      // Written to the id file and the user-id output: server text, cleaned like any other.
      return {
        kind: 'console',
        userId: serverText(id.id, ctx.secrets, 100),
        checked: 'Console CLI token (GET /auth)'
      }
    }
    throw new ConvoxError(
      `${host} answered GET /auth with something that is neither a Rack nor a Console: check ${ctx.naming.the('host')} (use the rack's API host name or your Console host).`
    )
  }
  if (auth.status === 401) {
    rejectSpecial401(host, auth)
    // Console refuses deploy keys on /auth but accepts them on /racks.
    const racks = await get(ctx, '/racks')
    if (racks.status === 200 && Array.isArray(parseJson(racks.body))) {
      return { kind: 'console', userId: '', checked: 'Console deploy key (GET /racks)' }
    }
    if (racks.status === 401 || racks.status === 404) {
      rejectSpecial401(host, racks)
      throw new RejectedKeyError(
        `${host} rejected the password (401 ${errorText(auth.body, ctx.secrets) || 'unauthorized'}): check that the secret holds the current ` +
          `Rack API key, or a Console CLI token or deploy key for a Console host, and that ${ctx.naming.ref('host')} points at the right Console or Rack.`
      )
    }
    throw statusFailure(ctx, 'GET /racks', racks)
  }
  if (auth.status === 404) {
    throw new ConvoxError(
      `${host} is not a Convox API (GET /auth answered 404): use the rack's API host name (convox rack shows it) or your Console host, not a load balancer or router name.`
    )
  }
  throw statusFailure(ctx, 'GET /auth', auth)
}

/** The racks a Console key can see, by full name `org/rack`. */
export async function listConsoleRacks(ctx: ApiContext): Promise<ConsoleRack[]> {
  const response = await get(ctx, '/racks')
  if (response.status !== 200) throw statusFailure(ctx, 'GET /racks', response)
  const list = parseJson(response.body)
  const notConsole = (why: string) =>
    new ConvoxError(
      `${ctx.api.host} did not answer GET /racks like a Convox Console (${why}): check ${ctx.naming.the('host')}, and that no proxy answers in its place.`
    )
  if (!Array.isArray(list)) throw notConsole('not a JSON list of racks')
  return list.map((entry: unknown, index) => {
    const r = isObject(entry) ? entry : {}
    const org = isObject(r.organization) ? r.organization.name : undefined
    if (
      !nonEmptyString(r.name) ||
      !nonEmptyString(org) ||
      !optionalStrings(r, 'status', 'provider', 'version')
    ) {
      throw notConsole(`entry ${index + 1} is not a rack with a name and an organization`)
    }
    const text = (value: unknown) => serverText(typeof value === 'string' ? value : '', ctx.secrets, 100)
    return {
      name: text(r.name),
      org: text(org),
      status: text(r.status),
      provider: text(r.provider),
      version: text(r.version)
    }
  })
}

/** Resolves `org/rack` or a bare rack name that exactly one visible rack has. */
export function resolveRack(
  host: string,
  wanted: string,
  racks: readonly ConsoleRack[],
  naming: Naming
): string {
  const names = racks.map(r => `${r.org}/${r.name}`)
  const matches = wanted.includes('/')
    ? names.filter(n => n === wanted)
    : names.filter(n => n.endsWith(`/${wanted}`))
  if (matches.length === 1) return matches[0]!
  const visible = names.length ? `it can see ${names.sort().join(', ')}` : 'it can see no racks'
  if (matches.length > 1) {
    throw new ConvoxError(
      `The rack name "${wanted}" matches several racks on ${host} (${matches.join(', ')}): set ${naming.ref('rack')} to <org>/<rack>.`
    )
  }
  throw new ConvoxError(
    `This key cannot see a rack "${wanted}" on ${host}; ${visible}: set ${naming.the('rack')} to one of them.`
  )
}

/** `GET /system`, through Console when `rack` is given. */
export async function systemInfo(ctx: ApiContext, rack?: string): Promise<SystemInfo> {
  const response = await get(ctx, '/system', rack)
  if (response.status !== 200) {
    if (rack && response.status === 404) {
      throw new ConvoxError(
        `${ctx.api.host} could not reach rack ${rack} (${serverLine(response.body, ctx.secrets)}): check the rack name and that the rack is connected to Console.`
      )
    }
    if (response.status === 401) rejectToken(ctx.api.host, response)
    const failure = statusFailure(ctx, rack ? `GET /system for rack ${rack}` : 'GET /system', response)
    // A rack whose API tasks are being replaced can take a key on /auth and refuse it here.
    throw response.status === 401 ? new RejectedKeyError(failure.message) : failure
  }
  const system = parseJson(response.body)
  if (
    !isObject(system) ||
    !nonEmptyString(system.name) ||
    typeof system.status !== 'string' ||
    !optionalStrings(system, 'version', 'provider')
  ) {
    const why = isObject(system) ? 'no string name and status' : 'not a JSON object'
    throw new ConvoxError(
      `${ctx.api.host} did not answer GET /system${rack ? ` for rack ${rack}` : ''} like a Convox rack (${why}): ` +
        `check ${ctx.naming.the('host')}, and that no proxy or load balancer answers in its place.`
    )
  }
  const text = (value: unknown) => serverText(typeof value === 'string' ? value : '', ctx.secrets, 100)
  return {
    name: text(system.name),
    status: text(system.status),
    version: text(system.version),
    provider: text(system.provider)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

/** Fields a real answer may leave out, but never sends as anything but text. */
function optionalStrings(object: Record<string, unknown>, ...names: string[]): boolean {
  return names.every(
    name => object[name] === undefined || object[name] === null || typeof object[name] === 'string'
  )
}

function rejectSpecial401(host: string, response: ApiResponse): void {
  rejectToken(host, response)
  const challenge = String(response.headers['www-authenticate'] ?? '')
  if (/^Session\b/i.test(challenge)) {
    throw new ConvoxError(
      `${host} asks for a multi-factor session, which a CI job cannot complete: use a Console deploy key (Console, Settings, Deploy Keys) instead of a personal CLI token.`
    )
  }
  if (/cli token is expired/i.test(response.body)) {
    throw new ConvoxError(
      `${host} says the Console CLI token has expired: create a new one (convox login on your machine, or a deploy key in the Console web UI) and update the secret.`
    )
  }
}

/** A v3 rack says why it refused a rack access token (pkg/api/api.go `authenticate`). */
function rejectToken(host: string, response: ApiResponse): void {
  if (/invalid authentication: token is expired/i.test(response.body)) {
    throw new ConvoxError(`${host} says the rack access token has expired: ${MINT_HINT}.`)
  }
  if (/invalid authentication: signature is invalid/i.test(response.body)) {
    throw new ConvoxError(
      `${host} says the rack access token is signed with another key: it was minted for another rack, or this rack's ` +
        `signing key was rotated (convox rack access key rotate) since; check the host, or ${MINT_HINT}.`
    )
  }
}

function statusFailure(ctx: ApiContext, what: string, response: ApiResponse): ConvoxError {
  const detail = errorText(response.body, ctx.secrets)
  const suffix = detail ? `: ${detail}` : ''
  if (response.status >= 300 && response.status < 400) {
    const location = serverLine(String(response.headers.location ?? ''), ctx.secrets)
    return new ConvoxError(
      `${ctx.api.host} answered ${what} with a redirect (HTTP ${response.status}) ${location ? `to ${location}` : 'without a Location'}; ` +
        `the Convox API answers on its own host: set ${ctx.naming.the('host')} to the API host, not a web address that forwards to it.`
    )
  }
  if (isTransientStatus(response.status)) {
    return new ConvoxError(
      `${ctx.api.host} kept answering ${what} with HTTP ${response.status} for ${formatDuration(ctx.retry.budgetMs)}${suffix}; ` +
        `the API may be updating or overloaded: try again later, or raise ${ctx.naming.ref('retry-for')}.`
    )
  }
  return new ConvoxError(`${ctx.api.host} answered ${what} with HTTP ${response.status}${suffix}.`)
}

export function networkFailure(
  host: string,
  error: NetworkError,
  budgetMs: number,
  naming: Naming
): ConvoxError {
  const during = budgetMs > 0 ? ` (within ${naming.ref('retry-for')}, ${formatDuration(budgetMs)})` : ''
  const hostOption = naming.the('host')
  const via = error.proxy ? ` through the proxy ${error.proxy}` : ''
  switch (error.kind) {
    case 'proxy':
      return new ConvoxError(
        `Cannot reach ${host}: ${error.message}${error.transient ? during : ''}; check HTTPS_PROXY, or add ${host} to NO_PROXY if the runner reaches it directly.`
      )
    case 'plain-http':
      return new ConvoxError(
        `${host}${via} speaks plain HTTP, not HTTPS: check the port in ${hostOption} (the Convox API answers HTTPS; ${naming.ref('ca-cert')} and ${naming.ref('insecure')} do not apply).`
      )
    case 'dns':
      return new ConvoxError(`Cannot resolve ${host} (DNS lookup failed): check ${hostOption} for typos.`)
    case 'refused':
      return new ConvoxError(
        `${host} refused the connection${during}: check the port in ${hostOption} and that the rack is running.`
      )
    case 'timeout':
      return new ConvoxError(
        `${host} did not answer${via} in time${during}: check that this runner can reach it (firewall, VPN, private rack).`
      )
    case 'reset':
      return new ConvoxError(
        `${host} kept closing the connection${via}${during}: the API may be restarting; try again later.`
      )
    case 'tls':
      return new ConvoxError(
        `TLS verification of ${host}${via} failed (${error.code || error.message}): for a rack with a self-signed certificate pass its CA in ${naming.ref('ca-cert')}, or set ${naming.set('insecure', 'true')} to skip verification.`
      )
    default:
      return new ConvoxError(
        `Cannot reach ${host} (${error.code || error.message})${during}: check ${hostOption} and the runner's network.`
      )
  }
}

/** The server's own words: `{"error": "..."}` or the first line of plain text, secrets removed. */
function errorText(body: string, secrets: readonly string[]): string {
  const text = errorField(parseJson(body)) ?? body
  if (/^\s*</.test(text)) return '' // an HTML error page says nothing useful in one line
  return serverLine(text, secrets)
}
