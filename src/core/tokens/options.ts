import type { TokenRole } from '../credential.ts'
import { InputError } from '../errors.ts'
import type { Naming } from '../naming.ts'

/**
 * The rules for the job-token options (`mint-token`, `mint-token-hours`), shared by the action's
 * inputs and the command's flags: raw values in, typed settings out, refusals in the words of the
 * front end's Naming. The limits are the rack's own (docs/convox.md, minting).
 */

export interface MintSettings {
  role: TokenRole
  /** 1 to 8760, as the rack takes `durationInHour`. */
  hours: number
}

const ROLES: readonly TokenRole[] = ['read', 'write', 'admin']
export const MAX_TOKEN_HOURS = 8760
/** A hosted GitHub job's longest run: the token outlives the job that uses it, and no more. */
export const DEFAULT_TOKEN_HOURS = 6

/** `''` (mint nothing) or a role; the hours only with a role. */
export function parseMintToken(rawRole: string, rawHours: string, naming: Naming): MintSettings | undefined {
  const role = rawRole.trim()
  const hoursText = rawHours.trim()
  if (role === '') {
    // The action's default is always given; any other number means a token was meant.
    if (hoursText !== '' && hoursText !== String(DEFAULT_TOKEN_HOURS)) {
      throw new InputError(
        `${naming.ref('mint-token-hours')} is given without ${naming.ref('mint-token')}: set ${naming.set('mint-token', 'write')} (or read, admin), or remove it.`
      )
    }
    return undefined
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new InputError(`${naming.subject('mint-token')} "${role}" is not a role: use read, write or admin.`)
  }
  if (hoursText === '') return { role: role as TokenRole, hours: DEFAULT_TOKEN_HOURS }
  const hours = /^\d+$/.test(hoursText) ? Number(hoursText) : NaN
  if (!Number.isSafeInteger(hours) || hours < 1 || hours > MAX_TOKEN_HOURS) {
    throw new InputError(
      `${naming.subject('mint-token-hours')} "${hoursText}" is not a whole number of hours from 1 to ${MAX_TOKEN_HOURS}: ` +
        `use ${DEFAULT_TOKEN_HOURS} for one job, longer only for a token a schedule renews.`
    )
  }
  return { role: role as TokenRole, hours }
}

export interface MintCombination {
  mint: MintSettings | undefined
  validate: boolean
  keyroll: boolean
  /** A token store (renewal) or `revoke-tokens` is set. */
  storeOrRevoke: boolean
  /** `revoke-tokens` is set. */
  revoke?: boolean
  /** A store for the token is named. */
  store?: boolean
  /** The login's key is a rack access token, not the rack password. */
  tokenLogin?: boolean
  /** `keyroll-timeout`, which bounds the revocation window. */
  timeoutMs?: number
}

/**
 * How long the probe a revocation stores while the rack restarts lives: through the whole window
 * (`keyroll-timeout`) and an hour more, and short, since it dies with the old key anyway.
 */
export function probeHours(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 3600_000) + 1
}

/** The options a job token cannot go with, decided before anything is sent or written. */
export function checkMintCombination(c: MintCombination, naming: Naming): void {
  if (!c.mint) {
    if (c.storeOrRevoke) {
      throw new InputError(
        `Storing or revoking tokens needs a token to store: set ${naming.set('mint-token', 'write')} (or read) and ${naming.ref('mint-token-hours')}.`
      )
    }
    return
  }
  if (!c.validate) {
    throw new InputError(
      `A job token is minted by the rack's API, which ${naming.set('validate', 'false')} does not use: remove ${naming.set('validate', 'false')}.`
    )
  }
  if (c.revoke && !c.store) {
    throw new InputError(
      `${naming.set('revoke-tokens', 'true')} makes every token in use stop working, so the new one needs a store: name one with ${naming.ref('token-secret')}.`
    )
  }
  if (c.revoke && c.tokenLogin) {
    throw new InputError(
      `${naming.set('revoke-tokens', 'true')} with a rack access token would rotate the key that signs it and cut this login off mid-way: revoke with the rack password.`
    )
  }
  const least = probeHours(c.timeoutMs ?? 0) + 2
  if (c.revoke && c.mint.hours < least) {
    throw new InputError(
      `${naming.set('revoke-tokens', 'true')} needs ${naming.ref('mint-token-hours')} of at least ${least} (the probe's life, ${naming.ref('keyroll-timeout')} ` +
        'rounded up plus an hour, plus two), so that a rerun can tell the token it stores from the probe it stores while the rack restarts.'
    )
  }
  if (c.keyroll) {
    throw new InputError(
      `${naming.set('keyroll', 'true')} and ${naming.ref('mint-token')} do not go together: the keyroll needs the rack password, ` +
        'which a job token keeps from later steps; roll the key in a job of its own.'
    )
  }
}
