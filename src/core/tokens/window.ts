import { fullJitterDelay } from '../http/retry.ts'
import type { KeyrollTiming } from '../keyroll/timing.ts'

/**
 * The revocation window as a pure step (docs/tokens.md): after `PUT /system/jwt/rotate` the rack
 * restarts its API one process at a time, and each process reads the signing key once at start,
 * so a token minted just before the rotation (the probe) is accepted by old processes and refused
 * by new ones, at random, until the last one restarts. `observe` takes what one request said and
 * returns the next state and what to do; the loop around it (revoke.ts) only waits and asks.
 * No I/O and no clock: the bounds are tested with tables (__tests__/core/tokens/window.test.ts).
 */

/** What one request said. */
export type Probe =
  /** The probe (or, verifying, the new token) was accepted. */
  | { kind: 'accepted' }
  /** 401 `invalid authentication: signature is invalid`: a process with another key answered. */
  | { kind: 'refused' }
  /** 5xx, 429 or a network error, as a restarting API gives; `retryAfterMs` from the answer. */
  | { kind: 'transient'; retryAfterMs?: number }

export interface WindowState {
  /** `waiting`: the probe is asked until refused consistently; `verifying`: the new token is asked. */
  phase: 'waiting' | 'verifying'
  /** Answers in a row of the kind the phase waits for (refusals while waiting, acceptances while verifying). */
  streak: number
  /** Transient failures in a row, for the backoff. */
  failures: number
  /** Requests sent. */
  requests: number
  /** The pace's token bucket: requests that may go now, as of `creditAt`. */
  credit: number
  creditAt: number
}

export type Step =
  /** Ask again `ms` after the last request was sent. */
  | { kind: 'wait'; ms: number }
  /** The probe is refused consistently: mint the new token, then verify it. */
  | { kind: 'mint' }
  /** The new token was accepted on `verifyCount` requests in a row: store it. */
  | { kind: 'done' }

export interface WindowTiming {
  /** Between two probes while old processes still accept the probe, with uniform jitter on top. */
  pollMs: number
  pollJitterMs: number
  /** Refusals in a row that say the window is over; after the first, the next come `confirmGapMs` apart. */
  refusedCount: number
  confirmGapMs: number
  /**
   * The pace, a token bucket: `burst` requests at once, one more every `refillMs`. In any 60 s at
   * most burst + 60 s / refillMs go out (20), the mint and the verification included.
   */
  burst: number
  refillMs: number
  /** Acceptances in a row of the new token, requested back to back (both halves of a restart). */
  verifyCount: number
  /** Pause between two verifying requests. */
  verifyGapMs: number
  /** Polls of the stored token after it is stored (revoke.ts): refused once, it is replaced. */
  watchPolls: number
  /** After a transient failure: floor plus full-jitter backoff; Retry-After honoured up to `maxWaitMs`. */
  backoff: KeyrollTiming['backoff']
  /** A server's Retry-After is honoured with a floor (a tiny one would make a storm) and up to this. */
  minServerWaitMs: number
  maxWaitMs: number
}

/**
 * Noticing the end: the first probe after it comes within `pollMs + pollJitterMs`, a second
 * refusal `confirmGapMs` later confirms it, then the mint and the verification go back to back:
 * six requests, within the bucket's burst of eight after the probe's mint and the rotation. Polls
 * come no faster than the bucket refills (11 a minute), so it is full when the end comes; 8 + 11 =
 * 19 requests in any minute, one more where a refill falls on the minute's edge: 20 at most.
 */
export const DEFAULT_WINDOW_TIMING: WindowTiming = {
  pollMs: 5500,
  pollJitterMs: 600,
  refusedCount: 2,
  confirmGapMs: 400,
  burst: 8,
  refillMs: 60_000 / 11,
  verifyCount: 3,
  verifyGapMs: 300,
  watchPolls: 3,
  backoff: { baseMs: 1000, capMs: 2000 },
  minServerWaitMs: 1000,
  maxWaitMs: 10_000
}

/** The bucket starts full at `at`, less `spent` requests made just before (the probe's mint, the rotation). */
export function initialWindow(timing: WindowTiming, at = 0, spent = 0): WindowState {
  return { phase: 'waiting', streak: 0, failures: 0, requests: 0, credit: timing.burst - spent, creditAt: at }
}

/** Notes a request sent at `at` (the step's own, or the mint): one credit spent. */
export function recordSent(state: WindowState, timing: WindowTiming, at: number): WindowState {
  const credit = Math.min(timing.burst, state.credit + (at - state.creditAt) / timing.refillMs)
  return { ...state, requests: state.requests + 1, credit: credit - 1, creditAt: at }
}

/**
 * One answer in, the next state and step out. `sentAt` is when the answered request was sent;
 * `random` in [0, 1) is the jitter.
 */
export function observe(
  state: WindowState,
  probe: Probe,
  timing: WindowTiming,
  random: number,
  sentAt = 0
): { state: WindowState; step: Step } {
  const out = decide(recordSent(state, timing, sentAt), probe, timing, random)
  if (out.step.kind !== 'wait') return out
  // The next request waits for a whole credit.
  const { credit } = out.state
  const ready = credit >= 1 ? 0 : Math.ceil((1 - credit) * timing.refillMs)
  return { state: out.state, step: { kind: 'wait', ms: Math.max(out.step.ms, ready) } }
}

function decide(
  state: WindowState,
  probe: Probe,
  timing: WindowTiming,
  random: number
): { state: WindowState; step: Step } {
  const poll = () => timing.pollMs + Math.floor(random * timing.pollJitterMs)
  const wait = (next: WindowState, ms: number) => ({ state: next, step: { kind: 'wait', ms } as Step })
  if (probe.kind === 'transient') {
    const failures = state.failures + 1
    const backoff = timing.pollMs + fullJitterDelay(failures - 1, timing.backoff, random)
    const asked =
      probe.retryAfterMs === undefined
        ? 0
        : Math.min(Math.max(probe.retryAfterMs, timing.minServerWaitMs), timing.maxWaitMs)
    // A failure while verifying proves nothing either way: verify again from the start.
    const streak = state.phase === 'verifying' ? 0 : state.streak
    return wait({ ...state, streak, failures }, Math.max(backoff, asked))
  }
  if (state.phase === 'waiting') {
    if (probe.kind === 'accepted') return wait({ ...state, streak: 0, failures: 0 }, poll())
    const streak = state.streak + 1
    if (streak >= timing.refusedCount) {
      return { state: { ...state, phase: 'verifying', streak: 0, failures: 0 }, step: { kind: 'mint' } }
    }
    return wait({ ...state, streak, failures: 0 }, timing.confirmGapMs)
  }
  // Verifying: a refusal means an old process minted it, or an old one still answers.
  if (probe.kind === 'refused') return wait({ ...state, phase: 'waiting', streak: 0, failures: 0 }, poll())
  const streak = state.streak + 1
  if (streak >= timing.verifyCount)
    return { state: { ...state, streak, failures: 0 }, step: { kind: 'done' } }
  return wait({ ...state, streak, failures: 0 }, timing.verifyGapMs)
}

/** What a stored token says of an earlier revocation, asked `count` times (docs/tokens.md, reruns). */
export type StoredVerdict = 'rotated' | 'in-window' | 'not-rotated'

export function judgeStored(answers: readonly Probe[]): StoredVerdict {
  const told = answers.filter(a => a.kind !== 'transient')
  if (told.length > 0 && told.every(a => a.kind === 'refused')) return 'rotated'
  if (told.some(a => a.kind === 'refused')) return 'in-window'
  return 'not-rotated'
}
