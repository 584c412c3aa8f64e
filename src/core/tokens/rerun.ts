import type { Probe } from './window.ts'

/**
 * Where a revocation picks up, from what the store holds (docs/tokens.md, "A rerun after a
 * crash"). A store holds one value, so a revocation writes its stages as tokens of three
 * lifetimes, which the `expiresAt` claim shows for the first hour of each:
 * - the probe, `probeLife` hours, stored just before the rotation;
 * - the interim token, `probeLife` + 1 hours, stored as soon as a token minted during the restart
 *   is accepted (it may carry either key);
 * - the final token, `hours` (at least `probeLife` + 2), minted and stored once the restart is over.
 * Pure: the answers of a few `GET /auth` with the stored token in, where to start out.
 */

const HOUR = 3600_000
/**
 * The rack's clock and this machine's may differ: a token minted `age` ago shows `left` =
 * lifetime - age + skew. Up to 5 minutes of skew are absorbed, which leaves the first 55 minutes
 * of each lifetime to tell it by.
 */
const SKEW = 5 * 60_000

export type Lifetime = 'expired' | 'probe' | 'interim' | 'final' | 'older'

/** Which of this option's tokens a stored one is, minted within the last 55 minutes; `older` otherwise. */
export function lifetimeOf(leftMs: number, hours: number, probeLife: number): Lifetime {
  if (leftMs <= 0) return 'expired'
  const minted = (lifetime: number) =>
    leftMs > lifetime * HOUR - HOUR + SKEW && leftMs <= lifetime * HOUR + SKEW
  if (minted(probeLife)) return 'probe'
  if (minted(probeLife + 1)) return 'interim'
  if (minted(hours)) return 'final'
  return 'older'
}

export type Resume =
  /** Nothing says a revocation is under way: store a probe, rotate. */
  | { kind: 'start'; why: 'expired' | 'older-accepted' }
  /** The earlier run finished: its final token, of the new key, is accepted. */
  | { kind: 'done' }
  /**
   * The probe, accepted everywhere: the earlier run stopped just before or just after rotating.
   * Watch it for a first restart before rotating.
   */
  | { kind: 'await' }
  /** The stored token is refused (everywhere, or in part): a rotation happened; it is the probe. */
  | { kind: 'window'; everywhere: boolean }
  /** The interim token: the rotation happened, its key is unknown until the rack agrees on it. */
  | { kind: 'settle' }
  /** The rack answered none of the questions. */
  | { kind: 'unanswered' }

export function resumeFrom(lifetime: Lifetime, answers: readonly Probe[]): Resume {
  if (lifetime === 'expired') return { kind: 'start', why: 'expired' }
  const told = answers.filter(a => a.kind !== 'transient')
  if (told.length === 0) return { kind: 'unanswered' }
  const refused = told.filter(a => a.kind === 'refused').length
  // Whatever it answers, an interim token says the rotation happened and nothing of its key.
  if (lifetime === 'interim') return { kind: 'settle' }
  if (refused > 0) return { kind: 'window', everywhere: refused === told.length }
  if (lifetime === 'final') return { kind: 'done' }
  if (lifetime === 'probe') return { kind: 'await' }
  return { kind: 'start', why: 'older-accepted' }
}
