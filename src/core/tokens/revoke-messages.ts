import type { Naming } from '../naming.ts'
import type { StoredVerdict } from './window.ts'

/** The sentences of a revocation (revoke.ts), in the words of the front end that prints them. */

const RERUN = 'run again with the same inputs and the stored value: it will not rotate again'

export function storedVerdict(verdict: StoredVerdict): string {
  switch (verdict) {
    case 'rotated':
      return 'The rack refuses the stored token as signed with another key: an earlier run rotated the key; finishing without rotating again.'
    case 'in-window':
      return "The rack accepts the stored token on some requests and refuses it on others: an earlier run's rotation is under way; waiting it out."
    case 'not-rotated':
      return 'The rack accepts the stored token.'
  }
}

export function alreadyDone(expiresAt: string): string {
  return `The stored token was minted with the new key by a revocation that finished within the last hour (it expires at ${expiresAt}): nothing to do.`
}

export function probeStored(where: string): string {
  return `Stored a short-lived token minted with the old key in ${where}: deploy jobs keep working until the rack has restarted, and a rerun can tell where this one stopped.`
}

export function rotated(host: string): string {
  return `Rotated the signing key of ${host}: every earlier token stops working once its API has restarted; waiting for that.`
}

export function progress(spent: string, timeout: string): string {
  return `The rack's API is still restarting (some requests still accept tokens signed with the old key); ${spent} of ${timeout} spent.`
}

export function stored(where: string, role: string, expiresAt: string): string {
  return `Stored a ${role} token signed with the new key in ${where}, valid until ${expiresAt}; every earlier token is refused.`
}

export function timedOut(spent: string, naming: Naming): string {
  return (
    `The rack's signing key was rotated, so every earlier token is dead or about to be, but its API was still restarting after ${spent} ` +
    `(${naming.ref('keyroll-timeout')}): the store holds a token that dies with the old key; ${RERUN}.`
  )
}

export function rotateForbidden(host: string, naming: Naming): string {
  return `${host} refused to rotate its signing key (403 admin role required): ${naming.set('revoke-tokens', 'true')} needs the rack password; nothing was rotated.`
}

export function rotateFailed(host: string, status: number, heard: string): string {
  return `${host} answered PUT /system/jwt/rotate with HTTP ${status}${heard ? ` (${heard})` : ''}: nothing was rotated; the store holds a working token.`
}

export function rotateUnknown(host: string, why: string): string {
  return `The answer to PUT /system/jwt/rotate on ${host} was lost (${why}), so the key may or may not be rotated; ${RERUN} unless needed.`
}

export function replacing(): string {
  return 'Part of the API, still restarting, refuses the new token: minting another.'
}
