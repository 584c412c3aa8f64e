import type { KeyrollTiming, PollResult } from '../keyroll/timing.ts'
import { DEFAULT_KEYROLL_TIMING, pollDelay } from '../keyroll/timing.ts'

/**
 * Watching a rack update that Console or CloudFormation runs (a password rotation, a new instance
 * key pair): a pure step over the window's state, `observe(state, seen) -> state | end`, tested
 * with tables (__tests__/core/rotation/window.test.ts). The loop around it (wait.ts) only asks
 * what the state says to ask, waits what it says to wait, and stops at the deadline.
 *
 * One request a poll, whichever tells more now: Console's record of the rack (`GET
 * /racks/<org>/<rack>`) while Console says `updating`, then the rack itself (`GET /system`, through
 * Console's proxy or directly), which must answer `running` several times in a row, since its API
 * restarts behind a balancer and one answer can come from a pod that is about to go.
 */

/** Which request the next poll sends. */
export type Ask = 'record' | 'system'

export interface WindowState {
  ask: Ask
  /** Successes in a row: Console's record `running`, then GET /system `running`. */
  successes: number
  /** Failed polls in a row, for the backoff. */
  failures: number
  /** The update was seen under way: `running` before that may be the rack before it began. */
  sawUpdating: boolean
  status?: string
  lastError?: string
}

/** What one poll saw. `elapsedMs` is the time since the update was asked for. */
export type Seen =
  | { kind: 'status'; status: string; elapsedMs: number }
  | { kind: 'failed'; reason: string; retryAfterMs?: number; elapsedMs: number }

export type Step =
  | { kind: 'poll'; state: WindowState; delayMs: number }
  | { kind: 'live'; state: WindowState }
  | { kind: 'failed'; state: WindowState }

export interface WindowTiming extends KeyrollTiming {
  /** Successes in a row that end the window: Console's `running` counts as the first, then GET /system's. */
  successes: number
  /**
   * A rack that says `running` and was never seen `updating` is taken as done only after this
   * long: an update can be over before the first poll, but right after the request the rack may
   * not have begun it yet.
   */
  graceMs: number
}

/**
 * The keyroll's poll schedule (keyroll/timing.ts), a later first poll and quicker confirmations: three successes
 * in a row must still come within the 10 s notice, so the two after the first come 0.4 to 1.2 s
 * apart. A worst notice is a failed poll just before the rack is back (6.4 s to the next) and the
 * two confirmations (2.4 s): 8.8 s.
 */
export const WINDOW_TIMING: WindowTiming = {
  ...DEFAULT_KEYROLL_TIMING,
  // A rack restarting its API (or replacing instances) takes longer than a v2 key change: one
  // poll fewer in a short window keeps it under 20 requests a minute with three confirmations.
  firstPollMs: 6500,
  confirmMs: 400,
  successes: 3,
  graceMs: 60_000
}

/** Where a window starts: asking Console after a Console update, the rack after a rack's own. */
export function startWindow(ask: Ask, sawUpdating = false): WindowState {
  return { ask, successes: 0, failures: 0, sawUpdating }
}

const DONE = new Set(['running'])
const BROKEN = new Set(['failed', 'rollback'])

export function observe(state: WindowState, seen: Seen, timing: WindowTiming, random: number): Step {
  if (seen.kind === 'failed') {
    const next = { ...state, successes: 0, failures: state.failures + 1, lastError: seen.reason }
    return poll(next, 'failed', timing, random, seen.retryAfterMs)
  }
  const status = seen.status
  const sawUpdating = state.sawUpdating || !DONE.has(status)
  const base = { ...state, status, sawUpdating, failures: 0 }
  if (BROKEN.has(status)) return { kind: 'failed', state: base }
  if (!DONE.has(status)) return poll({ ...base, ask: state.ask, successes: 0 }, 'steady', timing, random)
  // Running, but maybe not yet begun: keep looking until the update shows, or the grace ends.
  if (!sawUpdating && seen.elapsedMs < timing.graceMs) {
    return poll({ ...base, successes: 0 }, 'steady', timing, random)
  }
  if (state.ask === 'record') {
    // Console says it is done, the first of the successes; the rack itself must now answer, steadily.
    return poll({ ...base, ask: 'system', successes: 1 }, 'confirm', timing, random)
  }
  const successes = state.successes + 1
  const next = { ...base, successes }
  if (successes >= timing.successes) return { kind: 'live', state: next }
  return poll(next, 'confirm', timing, random)
}

function poll(
  state: WindowState,
  result: PollResult,
  timing: WindowTiming,
  random: number,
  retryAfterMs?: number
): Step {
  return { kind: 'poll', state, delayMs: pollDelay(result, state.failures, timing, random, retryAfterMs) }
}
