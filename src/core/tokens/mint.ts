import type { ApiResponse, ConnectionOptions } from '../api.ts'
import { ConvoxApi, NetworkError } from '../api.ts'
import type { TokenCredential } from '../credential.ts'
import { parseToken } from '../credential.ts'
import { ConvoxError, InputError } from '../errors.ts'
import { errorField, parseJson } from '../http/json.ts'
import type { RetryOptions } from '../http/retry.ts'
import { sendWithRetry } from '../http/retry.ts'
import { serverLine, serverText } from '../http/server-text.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import { rackUrl, secretForms } from '../secrets.ts'
import { networkFailure } from '../validate.ts'
import * as say from './messages.ts'
import type { MintSettings } from './options.ts'

/**
 * A job token (docs/convox.md, rack access tokens): `POST /system/jwt/token` with the login's
 * credential, the answer checked for a real token (racks before 3.24.6 answer 200 with an empty
 * one for a role they do not know), masked in every form before anything else happens, then
 * checked on the rack as user `jwt`. On a Console login the request goes through Console's proxy
 * (`Rack:`), and the token is for the rack's own host (`GET /system` `rack-domain`), as `convox
 * rack access` prints it.
 */

export interface MintRequest extends MintSettings {
  /** The login's API: a Rack, or a Console with `rack` set. */
  api: ConvoxApi
  /** `org/rack` on a Console login. */
  rack?: string
  rackVersion: string
  connection: ConnectionOptions
  retry: RetryOptions
  /** The login key's forms, scrubbed from anything the rack says. */
  secrets: readonly string[]
  log: Log
  naming: Naming
}

export interface MintedToken {
  credential: TokenCredential
  /** The host the token is used on: the login's Rack, or the Console rack's rack-domain. */
  host: string
  /** `https://jwt:<token>@<host>`: a secret. */
  rackUrl: string
}

export async function mintToken(request: MintRequest): Promise<MintedToken> {
  const { api, rack, naming, log } = request
  const where = rack ? `rack ${rack}` : api.host
  if (!/^3\./.test(request.rackVersion)) {
    throw new InputError(say.tooOldToMint(where, request.rackVersion, naming))
  }
  const host = rack ? await rackDomain(request, rack) : api.host
  const answer = await send(request, api, {
    method: 'POST',
    path: '/system/jwt/token',
    rack,
    form: { role: request.role, durationInHour: String(request.hours) }
  })
  const body = parseJson(answer.body) as { token?: unknown } | undefined
  const token = answer.status === 200 && body && typeof body === 'object' ? body.token : undefined
  // Masked before it can reach any line, a failure's included.
  if (typeof token === 'string' && token !== '') {
    for (const form of secretForms(token, host)) log.secret(form)
  }
  if (answer.status !== 200) throw refusal(request, where, answer)
  if (typeof token !== 'string' || token === '') {
    throw new ConvoxError(say.emptyToken(where, request.role, request.rackVersion, naming))
  }
  const credential = readMinted(token, where)
  if (credential.role !== request.role) {
    throw new ConvoxError(
      `${where} minted a ${credential.role} token when asked for ${request.role}: its version ${request.rackVersion} does not ` +
        'mint roles as 3.24.6 and later do; update the rack (convox rack update).'
    )
  }
  return { credential, host, rackUrl: rackUrl(host, token, 'jwt') }
}

/** `GET /auth` as user `jwt` on the token's own host, `times` answers in a row. */
export async function verifyToken(
  request: Pick<MintRequest, 'api' | 'connection' | 'retry' | 'secrets' | 'naming'>,
  minted: MintedToken,
  times = 1
): Promise<void> {
  const own = request.api.host === minted.host
  const api = own
    ? request.api.withCredential(minted.credential.secret, 'jwt')
    : ConvoxApi.create(minted.host, minted.credential.secret, request.connection, { user: 'jwt' })
  try {
    for (let i = 0; i < times; i++) {
      const answer = await send(request, api, { method: 'GET', path: '/auth' })
      if (answer.status !== 200) {
        const heard =
          `HTTP ${answer.status} ${rackWords(answer, [...request.secrets, ...secretForms(minted.credential.secret)])}`.trim()
        throw new ConvoxError(say.notVerified(minted.host, heard))
      }
    }
  } finally {
    if (!own) api.close()
  }
}

async function rackDomain(request: MintRequest, rack: string): Promise<string> {
  const answer = await send(request, request.api, { method: 'GET', path: '/system', rack })
  const system = parseJson(answer.body) as Record<string, unknown> | undefined
  const domain =
    answer.status === 200 && system && typeof system === 'object' ? system['rack-domain'] : undefined
  if (typeof domain !== 'string' || domain.trim() === '') {
    throw new ConvoxError(say.noRackDomain(rack, request.naming))
  }
  const host = serverText(domain.trim(), request.secrets, 253)
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) {
    throw new ConvoxError(
      `Rack ${rack} reports a rack-domain that is not a host name ("${host}"): check the rack with convox rack, or log in to its API host directly.`
    )
  }
  return host.toLowerCase()
}

function readMinted(token: string, where: string): TokenCredential {
  try {
    return parseToken(token, 'minted token')
  } catch {
    throw new ConvoxError(
      `${where} answered the request for a token with something that is not a rack access token: check that no proxy answers in its place.`
    )
  }
}

function refusal(request: MintRequest, where: string, answer: ApiResponse): ConvoxError {
  const heard = rackWords(answer, request.secrets)
  const { naming, role } = request
  if (answer.status === 404 || answer.status === 405) {
    return new InputError(say.tooOldToMint(where, request.rackVersion, naming))
  }
  // 403 "admin role required to mint admin tokens"; 401 "you are unauthorized to access this" for a read token.
  if (answer.status === 403 || (answer.status === 401 && /unauthorized to access/i.test(answer.body))) {
    return new InputError(say.roleTooBig(where, role, `HTTP ${answer.status} ${heard}`.trim(), naming))
  }
  if (answer.status === 400) {
    return new InputError(
      `${where} refused to mint a ${role} token for ${request.hours} hours (${heard}): check ${naming.ref('mint-token')} and ${naming.ref('mint-token-hours')}.`
    )
  }
  return new ConvoxError(
    `${where} answered POST /system/jwt/token with HTTP ${answer.status}${heard ? `: ${heard}` : ''}.`
  )
}

function rackWords(answer: ApiResponse, secrets: readonly string[]): string {
  const text = errorField(parseJson(answer.body)) ?? answer.body
  return /^\s*</.test(text) ? '' : serverLine(text, secrets)
}

async function send(
  request: Pick<MintRequest, 'retry' | 'naming'>,
  api: ConvoxApi,
  call: Parameters<ConvoxApi['send']>[0]
): Promise<ApiResponse> {
  try {
    return await sendWithRetry(api, call, request.retry)
  } catch (error) {
    if (error instanceof NetworkError)
      throw networkFailure(api.host, error, request.retry.budgetMs, request.naming)
    throw error
  }
}
