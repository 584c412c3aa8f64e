import { formatDuration } from '../clock.ts'
import type { Probe } from './probe.ts'
import type { KeyrollTiming, PollResult } from './timing.ts'
import { progressDue } from './timing.ts'

/**
 * What watching a roll decides, as one pure step: the roll's state and one probe's answer in, the
 * next state (and what to do next) or the end out, with the lines to log. No I/O, no clock, no
 * sleep, so every branch is tested with tables (__tests__/core/keyroll/watch.test.ts); the loop
 * in watch.ts only asks, sleeps and logs what a step says.
 *
 * A poll is one probe with the new key and, when that cannot tell the roll's state, one with the
 * old key: the step that ends a poll is the one after the last probe it makes.
 */

export type WatchEnd =
  | { kind: 'live' }
  /** Running, the old key accepted and the new refused, twice in a row. */
  | { kind: 'not-started'; sawChange: boolean }
  | { kind: 'failed' }
  | { kind: 'timeout'; everAccepted: boolean; oldEverAccepted: boolean; status?: string; lastError?: string }

/** What stays the same through one watch. */
export interface WatchPlan {
  deadline: number
  /**
   * The rack answered the PUT with ok. Then looking untouched is no reason to act, only a change
   * and a return (a rollback) is; otherwise whether the roll started is the open question.
   */
  started: boolean
  /** For the progress lines: `waiting for <what>`. */
  what: string
  timing: KeyrollTiming
  /** The keyroll's whole budget and start, for the progress lines' `<elapsed> of <budget>`. */
  timeoutMs: number
  startedAt: number
}

export interface WatchState {
  /** The new key was accepted on some poll of this watch. */
  everAccepted: boolean
  /** Polls in a row on which the new key was accepted. */
  consecutive: number
  /** Polls in a row on which it was not: the backoff's exponent. */
  failures: number
  /** Old-key probes in a row that found the rack running on the old key. */
  notStarted: number
  /** The rack showed it is not as before: a status other than running, or the old key refused. */
  sawChange: boolean
  oldEverAccepted: boolean
  status?: string
  /** Since the last progress line. */
  lastError?: string
  lastOldProbe: number
  lastProgress: number
}

/** One probe's answer, and which key it was made with. */
export interface Observation {
  key: 'new' | 'old'
  probe: Probe
  /** When the answer came. */
  now: number
  /** The keyroll's poll count, for the debug line. */
  poll: number
}

export interface LogLine {
  level: 'info' | 'debug'
  message: string
}

/** The next poll starts after `pollDelay(result, failures, timing, random, retryAfterMs)` (timing.ts). */
export interface Wait {
  kind: 'wait'
  result: PollResult
  failures: number
  retryAfterMs?: number
}

export type Next = { kind: 'ask-old' } | Wait

export type Step = { log: LogLine[]; state: WatchState; next: Next } | { log: LogLine[]; end: WatchEnd }

export function startWatch(now: number): WatchState {
  return {
    everAccepted: false,
    consecutive: 0,
    failures: 0,
    notStarted: 0,
    sawChange: false,
    oldEverAccepted: false,
    lastOldProbe: now,
    lastProgress: now
  }
}

export function observe(plan: WatchPlan, state: WatchState, seen: Observation): Step {
  return seen.key === 'new' ? observeNew(plan, state, seen) : observeOld(plan, state, seen)
}

function observeNew(plan: WatchPlan, state: WatchState, seen: Observation): Step {
  const result = seen.probe
  const log: LogLine[] = []
  if (result.kind === 'accepted') {
    if (!state.everAccepted) {
      log.push(
        info(`The rack accepts the new key (${elapsed(plan, seen.now)} in); making sure it keeps doing so.`)
      )
    }
    if (result.status !== state.status) log.push(debug(`Rack status: ${result.status}.`))
    const next: WatchState = {
      ...state,
      everAccepted: true,
      consecutive: state.consecutive + 1,
      failures: 0,
      notStarted: 0,
      status: result.status,
      sawChange: state.sawChange || result.status !== 'running'
    }
    if (next.status === 'running' && next.consecutive >= 2) return { log, end: { kind: 'live' } }
    if (next.status === 'failed') return { log, end: { kind: 'failed' } }
    return endPoll(plan, next, seen, result, log, {
      kind: 'wait',
      result: next.status === 'running' ? 'confirm' : 'steady',
      failures: 0
    })
  }
  const next: WatchState = {
    ...state,
    consecutive: 0,
    failures: state.failures + 1,
    lastError: result.kind === 'rejected' ? 'new key refused (401)' : result.reason
  }
  // While the new key has never been accepted, the old key tells a roll in progress from none:
  // asked on every refused poll while that is the open question, else at most every
  // `oldKeyProbeMs` (a rollback is slow).
  const askOld =
    result.kind === 'rejected' &&
    !state.everAccepted &&
    (state.notStarted > 0 ||
      (!plan.started && !state.sawChange) ||
      seen.now - state.lastOldProbe >= plan.timing.oldKeyProbeMs)
  if (askOld) return { log, state: { ...next, lastOldProbe: seen.now }, next: { kind: 'ask-old' } }
  if (result.kind !== 'rejected') next.notStarted = 0
  return endPoll(plan, next, seen, result, log, {
    kind: 'wait',
    result: 'failed',
    failures: next.failures,
    retryAfterMs: result.kind === 'failed' ? result.retryAfterMs : undefined
  })
}

/** Only asked after the new key was refused (401) on this poll. */
function observeOld(plan: WatchPlan, state: WatchState, seen: Observation): Step {
  const old = seen.probe
  const next: WatchState = { ...state }
  if (old.kind === 'accepted') {
    next.oldEverAccepted = true
    next.status = old.status
    if (old.status === 'running') next.notStarted++
    else {
      next.sawChange = true
      next.notStarted = 0
    }
    if (old.status === 'failed') return { log: [], end: { kind: 'failed' } }
  } else {
    // The old key opened the rack before; refused now, the rack has changed.
    if (old.kind === 'rejected') next.sawChange = true
    next.notStarted = 0
  }
  if (next.notStarted >= 2 && (!plan.started || next.sawChange)) {
    return { log: [], end: { kind: 'not-started', sawChange: next.sawChange } }
  }
  return endPoll(plan, next, seen, { kind: 'rejected' }, [], {
    kind: 'wait',
    result: 'failed',
    failures: next.failures
  })
}

/** After the poll's last probe: the debug line (with what the new key got), the deadline, a progress line when one is due. */
function endPoll(
  plan: WatchPlan,
  state: WatchState,
  seen: Observation,
  result: Probe,
  log: LogLine[],
  wait: Wait
): Step {
  log.push(
    debug(
      `Keyroll poll ${seen.poll}: new key ${result.kind}${result.kind === 'failed' ? ` (${result.reason})` : ''}, ` +
        `rack ${state.status ?? 'unknown'}.`
    )
  )
  const { everAccepted, oldEverAccepted, status, lastError } = state
  if (seen.now >= plan.deadline) {
    return { log, end: { kind: 'timeout', everAccepted, oldEverAccepted, status, lastError } }
  }
  if (!progressDue(seen.now - state.lastProgress, plan.timing)) return { log, state, next: wait }
  const key =
    state.consecutive > 0
      ? 'accepted'
      : everAccepted
        ? 'accepted before, not on the last check'
        : 'not accepted yet'
  log.push(
    info(
      `Keyroll: ${elapsed(plan, seen.now)} of ${formatDuration(plan.timeoutMs)} waiting for ${plan.what}; rack ${status ?? 'status not known yet'}; ` +
        `new key ${key}; last error: ${lastError ?? 'none'}.`
    )
  )
  return { log, state: { ...state, lastProgress: seen.now, lastError: undefined }, next: wait }
}

function elapsed(plan: WatchPlan, now: number): string {
  return formatDuration(now - plan.startedAt)
}

function info(message: string): LogLine {
  return { level: 'info', message }
}

function debug(message: string): LogLine {
  return { level: 'debug', message }
}
