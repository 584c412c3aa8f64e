import type { Backoff } from '../http/retry.ts'
import { fullJitterDelay } from '../http/retry.ts'

/**
 * The keyroll's timing policy: when the next poll starts and when a progress line is due. Pure,
 * no I/O and no clock, so its bounds are tested with numbers (__tests__/core/keyroll/timing.test.ts).
 */

/**
 * When to poll. The defaults keep the delay between the rack taking the key and us noticing it
 * under 10 s: at worst a failed poll just before, so the next comes within `pollMs +
 * backoff.capMs` = 6.4 s, then a confirming check within `confirmMs + pollJitterMs` = 1.8 s. And
 * they keep the requests under 20 a minute, even in a window of only 5 s, where the wait is one
 * or two polls and the confirmation: one GET per poll (GET /system with the new key tells both
 * whether the key is accepted and the status), polls at least `pollMs` = 4.4 s apart and 4.8 s on
 * average, old-key probes only while it is unclear whether the roll started, or once a minute.
 */
export interface KeyrollTiming {
  /**
   * The first poll after the PUT (plus jitter). No rack applies a key in less, and polling later
   * than `pollMs` keeps even a 5 s window within 20 requests a minute: one poll after the key is
   * live and the confirmation, instead of a refused poll first.
   */
  firstPollMs: number
  /** Floor between the starts of two polls. */
  pollMs: number
  /** Uniform jitter on top of the floor after a poll that got an answer, so runners never march in step. */
  pollJitterMs: number
  /** After a failed poll (401, 5xx, 429, network): floor plus full-jitter backoff, capped. */
  backoff: Backoff
  /** Delay (plus jitter) before the second check once the rack says running and takes the new key. */
  confirmMs: number
  /** How often the old key is probed while the new key is refused and the roll is known to have started (rollbacks). */
  oldKeyProbeMs: number
  /** Per GET: /auth and /system are light, and a hung request must not stall the schedule. */
  requestTimeoutMs: number
  /** The PUT makes the rack call CloudFormation, which can be slow. */
  putTimeoutMs: number
  /** A progress line at least this often, and never one per poll. */
  progressMs: number
  /** Sends of the same key when the rack did not start the roll (lost answers, refused re-sends). */
  maxPuts: number
}

export const DEFAULT_KEYROLL_TIMING: KeyrollTiming = {
  firstPollMs: 5500,
  pollMs: 4400,
  pollJitterMs: 800,
  backoff: { baseMs: 1000, capMs: 2000 },
  confirmMs: 1000,
  oldKeyProbeMs: 60_000,
  requestTimeoutMs: 5000,
  putTimeoutMs: 30_000,
  progressMs: 30_000,
  maxPuts: 3
}

export type PollResult = 'steady' | 'confirm' | 'failed'

/**
 * How long after the start of one poll the next starts. `failures` counts failed polls in a row
 * (1 for the first). Pure, so the bounds can be tested without a clock.
 */
export function pollDelay(
  result: PollResult,
  failures: number,
  timing: KeyrollTiming,
  random: number,
  retryAfterMs?: number
): number {
  const jitter = Math.floor(random * timing.pollJitterMs)
  if (result === 'confirm') return timing.confirmMs + jitter
  if (result === 'steady') return timing.pollMs + jitter
  const delay = timing.pollMs + fullJitterDelay(Math.max(0, failures - 1), timing.backoff, random)
  // A Retry-After is honoured only up to our own cap: a longer one would break the promise of noticing the key in time.
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, maxPollDelay(timing)))
}

/**
 * A person should see a line at least every `progressMs`: print now if waiting for the next poll
 * could take the gap past it. Lines come `progressMs - maxPollDelay` to `progressMs` apart.
 */
export function progressDue(sinceLastMs: number, timing: KeyrollTiming): boolean {
  return sinceLastMs + maxPollDelay(timing) >= timing.progressMs
}

export function maxPollDelay(timing: KeyrollTiming): number {
  return timing.pollMs + Math.max(timing.pollJitterMs, timing.backoff.capMs)
}
