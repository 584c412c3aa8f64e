import { formatDuration } from '../clock.ts'
import type { Context } from './context.ts'
import { elapsed, sleepUntilNextPoll } from './context.ts'
import { probe } from './probe.ts'
import type { PollResult } from './timing.ts'
import { pollDelay, progressDue } from './timing.ts'

/**
 * Watching a roll that may be under way: after our PUT (roll.ts) or an earlier one (recover.ts).
 * Each poll is one probe with the new key, and the old key when that tells the roll's state; the
 * next poll's time comes from timing.ts. It ends with what it saw; the callers decide what follows.
 */

export type WatchEnd =
  | { kind: 'live' }
  /** Running, the old key accepted and the new refused, twice in a row. */
  | { kind: 'not-started'; sawChange: boolean }
  | { kind: 'failed' }
  | { kind: 'timeout'; everAccepted: boolean; oldEverAccepted: boolean; status?: string; lastError?: string }

export interface WatchOptions {
  next: string
  deadline: number
  /**
   * The rack answered the PUT with ok. Then looking untouched is no reason to act, only a change
   * and a return (a rollback) is; otherwise whether the roll started is the open question.
   */
  started: boolean
  /** Wait this long before the first poll: right after a PUT the key cannot be live yet. */
  firstPollAfterMs: number
  /** For the progress lines: `waiting for <what>`. */
  what: string
}

/**
 * Waits until the rack accepts `next` on two checks in a row and says `running`, riding out 401,
 * 5xx, 429 and network errors. One GET /system with the new key per poll answers both questions.
 * While the new key has never been accepted, the old key is probed too, to tell a roll in
 * progress from none: on every refused poll while that is the open question, else at most every
 * `oldKeyProbeMs` (a rollback is slow).
 */
export async function watchRoll(ctx: Context, watch: WatchOptions): Promise<WatchEnd> {
  const { clock, log, timing } = ctx
  const nextApi = ctx.api.withPassword(watch.next)
  let everAccepted = false
  let consecutive = 0
  let failures = 0
  let notStarted = 0
  let sawChange = false
  let oldEverAccepted = false
  let status: string | undefined
  let lastError: string | undefined
  let lastOldProbe = clock.now()
  let lastProgress = clock.now()
  if (watch.firstPollAfterMs > 0) {
    await sleepUntilNextPoll(
      ctx,
      clock.now(),
      watch.firstPollAfterMs + Math.floor(clock.random() * timing.pollJitterMs),
      watch.deadline
    )
  }
  for (;;) {
    const pollStart = clock.now()
    ctx.polls++
    const result = await probe(ctx, nextApi)
    let outcome: PollResult
    let retryAfter: number | undefined
    if (result.kind === 'accepted') {
      if (!everAccepted) {
        log.info(`The rack accepts the new key (${elapsed(ctx)} in); making sure it keeps doing so.`)
      }
      everAccepted = true
      consecutive++
      failures = 0
      notStarted = 0
      if (result.status !== status) log.debug(`Rack status: ${result.status}.`)
      status = result.status
      if (status !== 'running') sawChange = true
      if (status === 'running' && consecutive >= 2) return { kind: 'live' }
      if (status === 'failed') return { kind: 'failed' }
      outcome = status === 'running' ? 'confirm' : 'steady'
    } else {
      consecutive = 0
      failures++
      outcome = 'failed'
      lastError = result.kind === 'rejected' ? 'new key refused (401)' : result.reason
      retryAfter = result.kind === 'failed' ? result.retryAfterMs : undefined
      const probeOld =
        result.kind === 'rejected' &&
        !everAccepted &&
        (notStarted > 0 ||
          (!watch.started && !sawChange) ||
          clock.now() - lastOldProbe >= timing.oldKeyProbeMs)
      if (probeOld) {
        lastOldProbe = clock.now()
        const old = await probe(ctx, ctx.api)
        if (old.kind === 'accepted') {
          oldEverAccepted = true
          status = old.status
          if (old.status === 'running') notStarted++
          else {
            sawChange = true
            notStarted = 0
          }
          if (old.status === 'failed') return { kind: 'failed' }
        } else {
          // The old key opened the rack before; refused now, the rack has changed.
          if (old.kind === 'rejected') sawChange = true
          notStarted = 0
        }
        if (notStarted >= 2 && (!watch.started || sawChange)) return { kind: 'not-started', sawChange }
      } else if (result.kind !== 'rejected') {
        notStarted = 0
      }
    }
    log.debug(
      `Keyroll poll ${ctx.polls}: new key ${result.kind}${result.kind === 'failed' ? ` (${result.reason})` : ''}, ` +
        `rack ${status ?? 'unknown'}.`
    )
    if (clock.now() >= watch.deadline) {
      return { kind: 'timeout', everAccepted, oldEverAccepted, status, lastError }
    }
    if (progressDue(clock.now() - lastProgress, timing)) {
      lastProgress = clock.now()
      log.info(
        `Keyroll: ${elapsed(ctx)} of ${formatDuration(ctx.timeoutMs)} waiting for ${watch.what}; rack ${status ?? 'status not known yet'}; ` +
          `new key ${consecutive > 0 ? 'accepted' : everAccepted ? 'accepted before, not on the last check' : 'not accepted yet'}; ` +
          `last error: ${lastError ?? 'none'}.`
      )
      lastError = undefined
    }
    await sleepUntilNextPoll(
      ctx,
      pollStart,
      pollDelay(outcome, failures, timing, clock.random(), retryAfter),
      watch.deadline
    )
  }
}
