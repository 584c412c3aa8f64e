import type { Naming } from '../naming.ts'
import type { Resume } from './rerun.ts'

/** The sentences of a revocation (revoke.ts), in the words of the front end that prints them. */

const RERUN = 'run again with the same inputs and the stored value: it will not rotate again'

/** What the rerun makes of the stored token; `firstRestart` is how long an `await` watches. */
export function resumeFrom(
  resume: Exclude<Resume, { kind: 'unanswered' | 'done' }>,
  firstRestart: string
): string {
  switch (resume.kind) {
    case 'start':
      return resume.why === 'expired'
        ? 'The stored token has expired, so it tells nothing of an earlier run: revoking from the start.'
        : 'The rack accepts the stored token, which no revocation stored within the last hour: revoking from the start.'
    case 'await':
      return (
        'The rack accepts the short-lived token an earlier run stored just before rotating, so that run stopped just before or just after the rotation: ' +
        `watching it for ${firstRestart}, in which a rotation restarts a first API process, before rotating.`
      )
    case 'window':
      return resume.everywhere
        ? 'The rack refuses the stored token as signed with another key: the key was rotated; finishing without rotating again.'
        : "The rack accepts the stored token on some requests and refuses it on others: an earlier run's rotation is under way; waiting it out."
    case 'settle':
      return (
        'The stored token was minted by an earlier run while the API restarted, so the key was rotated and the token may carry either key: ' +
        'waiting until the rack answers it the same way throughout, then finishing without rotating again.'
      )
  }
}

export function unanswered(host: string): string {
  return `${host} answered GET /auth with the stored token only with errors, so this run cannot tell where the last one stopped: nothing was rotated or stored; run again once the rack answers.`
}

export function interimStored(where: string): string {
  return (
    `Stored a token minted on the restarted API in ${where}, short-lived until the restart is over: ` +
    'deploy jobs that read it work with the new key; watching until no old process answers.'
  )
}

export function alreadyDone(expiresAt: string): string {
  return `The rack accepts the stored token, the one a revocation stores once the restart is over, minted within the last hour (it expires at ${expiresAt}): nothing to do.`
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
    `(${naming.ref('keyroll-timeout')}): the store still holds the token it held before, which may stop working when the restart ends; ${RERUN}.`
  )
}

export function timedOutInterim(spent: string, expiresAt: string, naming: Naming): string {
  return (
    `The rack's API was still restarting after ${spent} (${naming.ref('keyroll-timeout')}): the store holds a token minted on the ` +
    `restarted API, which deploy jobs can use until ${expiresAt}, but not yet the one asked for; ${RERUN}.`
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
