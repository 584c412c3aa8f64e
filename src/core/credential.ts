import { parseJson } from './http/json.ts'
import { InputError } from './errors.ts'
import { normaliseHost } from './host.ts'
import type { Naming } from './naming.ts'

/**
 * What a secret is, and the user name it goes with. A v3 rack takes its rack access tokens as HTTP
 * Basic with user `jwt` and compares anything sent with another user with the rack password
 * (docs/convox.md sections 3.1 and 4.2), so the user cannot be left to the caller to guess.
 */

/** The Basic user name a secret is sent with. */
export type BasicUser = 'convox' | 'jwt'

export type TokenRole = 'read' | 'write' | 'admin'

export type Credential = PasswordCredential | TokenCredential

/** A rack password, Rack API key, Console CLI token or deploy key: sent with user `convox`. */
export interface PasswordCredential {
  kind: 'password'
  user: 'convox'
  secret: string
}

/** A v3 rack access token: sent with user `jwt`. */
export interface TokenCredential {
  kind: 'token'
  user: 'jwt'
  secret: string
  /** What the rack lets it do. */
  role: TokenRole
  /** The `expiresAt` claim. */
  expiresAt: Date
}

const ROLES: Record<string, TokenRole> = { r: 'read', rw: 'write', rwa: 'admin' }

/** How to get a new token, in every sentence that says the old one will not do. */
export const MINT_HINT =
  'mint a new one with convox rack access --role write --duration-in-hours 720 on a machine logged into the rack, then update the secret'

/** A token within this long of its end gets a warning at every login. */
export const TOKEN_WARN_MS = 7 * 24 * 3600_000

const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * Reads a key; `subject` names where it was given, in the front end's words (naming.ts). A rack password has no dots; an HS256 JWT's header always begins
 * `eyJ` (base64 of `{"`), so a dotted secret that begins so is taken as an attempt at a token and
 * held to a token's form, rather than sent as a password the rack would refuse with a bare 401.
 */
export function recogniseCredential(secret: string, subject: string): Credential {
  if (secret.startsWith('eyJ') && secret.includes('.')) return parseToken(secret, subject)
  return { kind: 'password', user: 'convox', secret }
}

/**
 * A rack access token's claims, checked for form only: the signature needs the rack's key.
 * `subject` names where the token was given, in the front end's words (naming.ts).
 */
export function parseToken(secret: string, subject: string): TokenCredential {
  const bad = (what: string) =>
    new InputError(
      `${subject} looks like a rack access token but ${what}: copy the whole token, the part between jwt: and @ ` +
        `in the RACK_URL that convox rack access printed, or ${MINT_HINT}.`
    )
  const segments = secret.split('.')
  if (segments.length !== 3) {
    throw bad(`has ${segments.length} dot-separated parts, not 3 (header, claims, signature)`)
  }
  if (!segments.every(s => BASE64URL.test(s))) throw bad('is not base64url text (letters, digits, - and _)')
  const header = decodeJson(segments[0]!)
  if (header === undefined) throw bad('its header is not JSON')
  if (header.alg !== 'HS256') throw bad('its header does not say "alg":"HS256", as the rack signs them')
  const claims = decodeJson(segments[1]!)
  if (claims === undefined) throw bad('its claims are not JSON')
  const role = typeof claims.role === 'string' ? ROLES[claims.role] : undefined
  if (!role) throw bad('its claims have no role r, rw or rwa')
  const expiresAt = claims.expiresAt
  const date = typeof expiresAt === 'number' ? new Date(expiresAt * 1000) : undefined
  if (!date || Number.isNaN(date.getTime())) throw bad('its claims have no numeric expiresAt')
  return { kind: 'token', user: 'jwt', secret, role, expiresAt: date }
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  const value = parseJson(Buffer.from(segment, 'base64url').toString('utf8'))
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

export interface RackUrl {
  /** Normalised as the `host` input is. */
  host: string
  credential: Credential
}

const RACK_URL_FORM = 'https://jwt:<token>@<rack host>[:port], as convox rack access prints it'

/**
 * Reads a `RACK_URL` value: `https://<user>:<secret>@<host>[:port]`, user `jwt` (a token) or
 * `convox` (the rack password), the secret percent-decoded. No sentence quotes the value or its
 * user-info: either may be the secret.
 */
export function parseRackUrl(raw: string, naming: Naming): RackUrl {
  const subject = naming.subject('rack-url')
  const bad = (what: string) => new InputError(`${subject} ${what}: use ${RACK_URL_FORM}.`)
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(raw)?.[1]
  if (!scheme) throw bad('is not a URL')
  if (scheme.toLowerCase() !== 'https') throw bad(`uses ${scheme.toLowerCase()}://, not https://`)
  const rest = raw.slice(scheme.length + 3)
  // The host cannot hold "@", and a percent-encoded secret cannot either: the last one ends the user-info.
  const at = rest.lastIndexOf('@')
  if (at < 0) throw bad('has no user-info (user:secret@) before the host')
  const userInfo = rest.slice(0, at)
  let hostPart = rest.slice(at + 1)
  if (hostPart.endsWith('/')) hostPart = hostPart.slice(0, -1)
  if (/[/?#]/.test(hostPart)) throw bad('has a path, query or fragment after the host')
  const colon = userInfo.indexOf(':')
  if (colon < 0) throw bad('has no secret after the user name (user:secret@)')
  const user = userInfo.slice(0, colon)
  if (user !== 'jwt' && user !== 'convox') throw bad('names a user other than jwt or convox')
  let secret: string
  try {
    secret = decodeURIComponent(userInfo.slice(colon + 1))
  } catch {
    throw bad('has a secret with a broken percent-encoding')
  }
  if (secret === '') throw bad('has an empty secret')
  if (/[\x00-\x1f\x7f]/.test(secret)) throw bad('has a secret with a control character in it')
  let host: string
  try {
    host = normaliseHost(hostPart, naming)
  } catch {
    throw bad('does not end in a valid host (and port)')
  }
  if (user === 'jwt') return { host, credential: parseToken(secret, subject) }
  if (recogniseCredential(secret, subject).kind === 'token') {
    throw bad('holds a rack access token with user convox, which the rack compares with its password')
  }
  return { host, credential: { kind: 'password', user: 'convox', secret } }
}

/** A token's date as the outputs and messages give it: ISO 8601 in UTC, whole seconds. */
export function formatExpiry(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z')
}

/**
 * Checked before any request: an expired token cannot log in, so saying so beats the rack's 401.
 * Returns the warning for a token that ends within TOKEN_WARN_MS, undefined otherwise.
 */
export function checkTokenExpiry(credential: Credential, nowMs: number): string | undefined {
  if (credential.kind !== 'token') return undefined
  const left = credential.expiresAt.getTime() - nowMs
  const when = formatExpiry(credential.expiresAt)
  if (left <= 0) {
    throw new InputError(`The rack access token expired at ${when}: ${MINT_HINT}.`)
  }
  if (left > TOKEN_WARN_MS) return undefined
  const days = Math.floor(left / (24 * 3600_000))
  const inWords = days >= 1 ? `in ${days} day${days === 1 ? '' : 's'}` : 'in less than a day'
  return `The rack access token expires at ${when} (${inWords}): before then, ${MINT_HINT}.`
}
