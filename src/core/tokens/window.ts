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
  /**
   * `waiting`: no new token yet, the probe is asked; `verifying`: a new token is asked before it is
   * stored; `watching`: it is stored, and it and the probe are asked in turn until they agree;
   * `finishing`: the restart is over, the token of the asked lifetime is minted and asked once;
   * `settling` (a rerun only): the stored token, minted while the API restarted and so of either
   * key, is asked until the rack has answered it the same way for long enough.
   */
  phase: 'waiting' | 'verifying' | 'watching' | 'finishing' | 'settling'
  /** What the next request asks the rack about. */
  asking: 'probe' | 'token'
  /** Verifying: acceptances of the new token in a row. */
  streak: number
  /** Watching, since the last contradiction: acceptances of the stored token, refusals of the probe. */
  held: number
  refusals: number
  /** Transient failures in a row, for the backoff. */
  failures: number
  /** Requests sent. */
  requests: number
  /** The pace's token bucket: requests that may go now, as of `creditAt`. */
  credit: number
  creditAt: number
  /**
   * Waiting on a rerun that found the probe accepted everywhere: an acceptance sent at or after
   * this says the earlier run stopped before rotating (a rotation would have restarted a process
   * by then), so rotate now.
   */
  rotateBy?: number
  /** Settling: what the stored token got last, how many times in a row, since when. */
  run?: { kind: 'accepted' | 'refused'; count: number; since: number }
  /** Settling: how long its answers must agree, and in at least `finishCount` requests. */
  settleFor?: number
}

export type Step =
  /** Ask (`asking`) `ms` after the last request was sent. */
  | { kind: 'wait'; ms: number }
  /** Mint a new token `ms` after the last request was sent, then verify it. */
  | { kind: 'mint'; ms: number }
  /** Store the new token, then ask again `ms` after the last request was sent. */
  | { kind: 'store'; ms: number }
  /** A rerun saw no sign of a rotation by `rotateBy`: rotate now (the stored probe stays). */
  | { kind: 'rotate'; ms: number }
  /** The token of the asked lifetime, minted after the restart, was accepted: store it, done. */
  | { kind: 'finish' }

export interface WindowTiming {
  /** Between two routine requests, with uniform jitter on top (and never before the bucket allows). */
  pollMs: number
  pollJitterMs: number
  /**
   * The pace, a token bucket: `burst` requests at once, one more every `refillMs`. In any 60 s at
   * most burst + 60 s / refillMs go out (20), the mints and the verifications included.
   */
  burst: number
  refillMs: number
  /**
   * Credits a routine request leaves in the bucket, for the burst a decisive answer sets off (a
   * mint and its verification): those go out as soon as one credit is there.
   */
  reserve: number
  /** Acceptances in a row of a new token before it is stored. */
  verifyCount: number
  /** Pause between two verifying requests. */
  verifyGapMs: number
  /**
   * Watching: acceptances of the stored token and refusals of the probe, asked in turn with no
   * contradiction between, that finish the revocation: an old-key token passes with a chance of
   * (1 - p)^(finishCount - 1) p^finishCount, p the share of new processes (docs/tokens.md).
   */
  finishCount: number
  /**
   * A rerun that finds the probe accepted everywhere watches it this long (at most
   * `keyroll-timeout`) before rotating: a rolling restart brings up its first new API process
   * within it, so an earlier run's rotation shows as a refusal by then.
   */
  firstRestartMs: number
  /**
   * A rerun that finds a token stored while the API restarted waits until the rack has answered
   * it the same way for this long (at most `keyroll-timeout`, within which the restart ends).
   */
  settleMs: number
  /** After a transient failure: floor plus full-jitter backoff; Retry-After honoured up to `maxWaitMs`. */
  backoff: KeyrollTiming['backoff']
  /** A server's Retry-After is honoured with a floor (a tiny one would make a storm) and up to this. */
  minServerWaitMs: number
  maxWaitMs: number
}

/**
 * A routine request no faster than the refill (3.75 s) leaves a credit in the bucket, so the mint a
 * decisive answer sets off goes at once and its verification soon after; 4 + 16 = 20 requests in
 * any minute at most. Nine and nine in the watch: an old-key token passes with a chance of at most
 * 8e-6 (docs/tokens.md), and finishing late costs nothing, since the store already holds it.
 */
export const DEFAULT_WINDOW_TIMING: WindowTiming = {
  pollMs: 3750,
  pollJitterMs: 300,
  burst: 4,
  refillMs: 60_000 / 16,
  reserve: 1,
  verifyCount: 1,
  verifyGapMs: 300,
  finishCount: 9,
  firstRestartMs: 3 * 60_000,
  settleMs: 3 * 60_000,
  backoff: { baseMs: 1000, capMs: 2000 },
  minServerWaitMs: 1000,
  maxWaitMs: 10_000
}

/** Where a rerun picks up (rerun.ts): watching the probe until `rotateBy`, or settling. */
export type WindowStart = Pick<WindowState, 'rotateBy' | 'settleFor'>

/**
 * The bucket starts full at `at`, less `spent` requests made just before (the probe's mint, the
 * rotation, a rerun's questions).
 */
export function initialWindow(timing: WindowTiming, at = 0, spent = 0, start: WindowStart = {}): WindowState {
  return {
    ...start,
    phase: start.settleFor === undefined ? 'waiting' : 'settling',
    asking: 'probe',
    streak: 0,
    held: 0,
    refusals: 0,
    failures: 0,
    requests: 0,
    credit: timing.burst - spent,
    creditAt: at
  }
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
  const sent = recordSent(state, timing, sentAt)
  const { state: next, step, urgent } = decide(sent, probe, timing, random, sentAt)
  if (step.kind === 'finish') return { state: next, step }
  // Only a request that follows a decisive answer may dip into the reserve.
  const floor = urgent ? 1 : 1 + timing.reserve
  const ready = next.credit >= floor ? 0 : Math.ceil((floor - next.credit) * timing.refillMs)
  return { state: next, step: { ...step, ms: Math.max(step.ms, ready) } }
}

interface Decision {
  state: WindowState
  step: Step
  /** Whether the next request belongs to the burst a decisive answer sets off. */
  urgent: boolean
}

function decide(
  state: WindowState,
  probe: Probe,
  timing: WindowTiming,
  random: number,
  sentAt: number
): Decision {
  const poll = timing.pollMs + Math.floor(random * timing.pollJitterMs)
  if (probe.kind === 'transient') {
    const failures = state.failures + 1
    const backoff = timing.pollMs + fullJitterDelay(failures - 1, timing.backoff, random)
    const asked =
      probe.retryAfterMs === undefined
        ? 0
        : Math.min(Math.max(probe.retryAfterMs, timing.minServerWaitMs), timing.maxWaitMs)
    // A failure while verifying proves nothing either way: verify again from the start.
    const streak = state.phase === 'verifying' ? 0 : state.streak
    return {
      state: { ...state, streak, failures },
      step: { kind: 'wait', ms: Math.max(backoff, asked) },
      urgent: false
    }
  }
  const told = { ...state, failures: 0 }
  // A new process answered: a token minted now may carry the new key. A refusal of the new token
  // says it is of the old key or an old process answered: a fresh mint is as likely to be new.
  const mint = (): Decision => ({
    state: {
      ...told,
      phase: 'verifying',
      asking: 'token',
      streak: 0,
      held: 0,
      refusals: 0,
      rotateBy: undefined,
      run: undefined,
      settleFor: undefined
    },
    step: { kind: 'mint', ms: 0 },
    urgent: true
  })
  // The restart is over: the token of the asked lifetime, minted now, is of the new key.
  const finish = (): Decision => ({
    state: { ...told, phase: 'finishing', asking: 'token', run: undefined, settleFor: undefined },
    step: { kind: 'mint', ms: 0 },
    urgent: false
  })
  if (state.phase === 'waiting') {
    if (probe.kind === 'refused') return mint()
    if (state.rotateBy !== undefined && sentAt >= state.rotateBy) {
      return { state: { ...told, rotateBy: undefined }, step: { kind: 'rotate', ms: 0 }, urgent: true }
    }
    return { state: told, step: { kind: 'wait', ms: poll }, urgent: false }
  }
  if (state.phase === 'settling') {
    // Any key: agreeing answers long enough mean the restart is over. Accepted, the stored token
    // is of the new key; refused, it is of the old one and becomes the probe.
    const run =
      state.run?.kind === probe.kind
        ? { ...state.run, count: state.run.count + 1 }
        : { kind: probe.kind, count: 1, since: sentAt }
    if (run.count >= timing.finishCount && sentAt - run.since >= (state.settleFor ?? 0)) {
      return probe.kind === 'accepted' ? finish() : mint()
    }
    return { state: { ...told, run }, step: { kind: 'wait', ms: poll }, urgent: false }
  }
  if (state.phase === 'finishing') {
    if (probe.kind === 'accepted') return { state: told, step: { kind: 'finish' }, urgent: false }
    return { ...finish(), urgent: true }
  }
  if (state.asking === 'token' && probe.kind === 'refused') return mint()
  if (state.phase === 'verifying') {
    const streak = state.streak + 1
    if (streak < timing.verifyCount) {
      return { state: { ...told, streak }, step: { kind: 'wait', ms: timing.verifyGapMs }, urgent: true }
    }
    // Stored at once: it is no worse than what the store holds, and better as soon as it is new.
    const watching: WindowState = {
      ...told,
      phase: 'watching',
      asking: 'token',
      streak,
      held: streak,
      refusals: 0
    }
    return { state: watching, step: { kind: 'store', ms: poll }, urgent: false }
  }
  // Watching: the stored token accepted and the probe refused agree with a new-key token; the
  // probe accepted says an old process still answers, so the stretch starts over.
  const stretch =
    state.asking === 'token'
      ? { held: state.held + 1, refusals: state.refusals }
      : probe.kind === 'refused'
        ? { held: state.held, refusals: state.refusals + 1 }
        : { held: 0, refusals: 0 }
  if (stretch.held >= timing.finishCount && stretch.refusals >= timing.finishCount) {
    const done = finish()
    return { ...done, state: { ...done.state, ...stretch } }
  }
  const asking = state.asking === 'token' ? 'probe' : 'token'
  return { state: { ...told, ...stretch, asking }, step: { kind: 'wait', ms: poll }, urgent: false }
}
