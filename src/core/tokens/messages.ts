import type { TokenRole } from '../credential.ts'
import type { Naming } from '../naming.ts'

/**
 * The sentences of job tokens, in the words of the front end that prints them. What the rack
 * says is quoted only through serverLine (the callers pass it cleaned).
 */

/** `an admin`, `a write`, `a read`. */
const article = (role: TokenRole) => (role === 'admin' ? 'an admin' : `a ${role}`)

const UPDATE = 'update the rack to 3.24.6 or later (convox rack update)'

export function tooOldToMint(host: string, version: string, naming: Naming): string {
  const what = /^\d{14}$/.test(version)
    ? `is a v2 rack (version ${version}), which has no rack access tokens`
    : `runs version ${version || 'unknown'}, which has no POST /system/jwt/token`
  return `${host} ${what}: ${/^\d{14}$/.test(version) ? 'log in with the rack password' : UPDATE}, or remove ${naming.ref('mint-token')}.`
}

export function roleTooBig(host: string, role: TokenRole, heard: string, naming: Naming): string {
  return (
    `${host} will not mint ${article(role)} token with this credential (${heard}): only the rack password or ` +
    `an admin token mints admin tokens, and a read token mints none; set ${naming.set('mint-token', 'write')} or read, or log in with the rack password.`
  )
}

export function emptyToken(host: string, role: TokenRole, version: string, naming: Naming): string {
  return (
    `${host} (version ${version || 'unknown'}) answered the request for ${article(role)} token without a token, as racks before 3.24.6 do for a role ` +
    `they do not know: ${UPDATE}, or set ${naming.set('mint-token', 'write')} or read.`
  )
}

export function noRackDomain(rack: string, naming: Naming): string {
  return (
    `Rack ${rack} reports no rack-domain in GET /system, so a token minted through Console has no host to be used on: ` +
    `log in to the rack's own API host instead, or remove ${naming.ref('mint-token')}.`
  )
}

export function notVerified(host: string, heard: string): string {
  return (
    `${host} refused the token it had just minted (${heard}): its API may be restarting after a signing-key rotation; ` +
    'run again in a few minutes. Nothing was written.'
  )
}

export function minted(role: TokenRole, expiresAt: string, host: string): string {
  return `Minted a ${role} token for ${host}, valid until ${expiresAt}; later steps get it instead of the login's key.`
}
