import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Rack access tokens as a v3 rack mints and checks them (`convox rack access`): HS256 JWTs signed
 * with the rack's own key, whose claims are `user`, `role` (`r`, `rw`, `rwa`) and `expiresAt` (Unix
 * seconds, a claim of Convox's own, not `exp`).
 */

export interface RackTokenClaims {
  role: 'r' | 'rw' | 'rwa'
  /** Unix seconds. */
  expiresAt: number
  user?: string
}

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const sign = (signingKey: string, data: string) =>
  createHmac('sha256', signingKey).update(data).digest('base64url')

/** Signs arbitrary header and claims: malformed tokens are made with it too. */
export function signJwt(signingKey: string, header: unknown, claims: unknown): string {
  const data = `${segment(header)}.${segment(claims)}`
  return `${data}.${sign(signingKey, data)}`
}

export function mintRackToken(signingKey: string, claims: RackTokenClaims): string {
  const user = claims.user ?? { r: 'system-read', rw: 'system-write', rwa: 'system-admin' }[claims.role]
  return signJwt(signingKey, { alg: 'HS256', typ: 'JWT' }, { ...claims, user })
}

/** The token of a `RACK_URL=https://jwt:<token>@<host>` value, as a store or a variable holds it. */
export function tokenOf(rackUrl: string): string {
  return decodeURIComponent(/^https:\/\/jwt:([^@]+)@/.exec(rackUrl.trim())![1]!)
}

/** A token's claims, read without checking its signature (what it says of itself). */
export function claimsOf(token: string): RackTokenClaims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as RackTokenClaims
}

/** A token expiring `hours` from now, as `--duration-in-hours` makes one. */
export function tokenFor(signingKey: string, role: RackTokenClaims['role'], hours: number): string {
  return mintRackToken(signingKey, { role, expiresAt: Math.floor(Date.now() / 1000 + hours * 3600) })
}

/** The rack's verdict on a token: its claims, or the reason in its 401 body. */
export function verifyRackToken(
  signingKey: string,
  token: string,
  nowMs: number
): { claims: RackTokenClaims } | { reason: string } {
  const parts = token.split('.')
  if (parts.length !== 3) return { reason: 'token contains an invalid number of segments' }
  const expected = Buffer.from(sign(signingKey, `${parts[0]}.${parts[1]}`))
  const given = Buffer.from(parts[2]!)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { reason: 'signature is invalid' }
  }
  let claims: RackTokenClaims
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as RackTokenClaims
  } catch {
    return { reason: 'token is malformed' }
  }
  if (typeof claims.expiresAt !== 'number' || claims.expiresAt * 1000 <= nowMs) {
    return { reason: 'token is expired' }
  }
  return { claims }
}
