import { formatDuration } from '../clock.ts'
import { ConvoxError } from '../errors.ts'
import { progressDue } from '../keyroll/timing.ts'
import { notRunningBefore, updateFailed, updateTimedOut } from './messages.ts'
import type { RotationContext } from './requests.ts'
import { readRecord, readStatus } from './requests.ts'
import type { Ask, Seen, WindowState } from './window.ts'
import { observe, startWindow } from './window.ts'

/**
 * The loop around the window's pure step (window.ts): it asks what the state says, waits what the
 * step says, prints a progress line now and then, and stops at the deadline. It decides nothing.
 */

export type WaitEnd =
  | { kind: 'live'; ms: number }
  | { kind: 'failed'; state: WindowState }
  | { kind: 'timeout'; state: WindowState }

export interface WaitOptions {
  /** What is awaited, for the progress lines: `Console to rotate the rack password`. */
  what: string
  ask: Ask
  /** The update is known to be under way already (a rack found `updating`). */
  sawUpdating?: boolean
  /** Before the first poll: right after a request, the update cannot be over yet. */
  firstPollAfterMs: number
  deadline: number
}

export async function waitForUpdate(ctx: RotationContext, options: WaitOptions): Promise<WaitEnd> {
  const { clock, log, timing } = ctx
  const start = clock.now()
  let state = startWindow(options.ask, options.sawUpdating)
  let lastProgress = start
  let delay = options.firstPollAfterMs + Math.floor(clock.random() * timing.pollJitterMs)
  let pollStart = start
  for (;;) {
    const wake = Math.min(pollStart + delay, options.deadline)
    if (wake > clock.now()) await clock.sleep(wake - clock.now())
    pollStart = clock.now()
    const seen = await look(ctx, state.ask, pollStart - start)
    const step = observe(state, seen, timing, clock.random())
    if (step.state.status !== state.status && step.state.status)
      log.debug(`Rack status: ${step.state.status}.`)
    state = step.state
    if (step.kind === 'live') return { kind: 'live', ms: clock.now() - start }
    if (step.kind === 'failed') return { kind: 'failed', state }
    if (clock.now() >= options.deadline) return { kind: 'timeout', state }
    if (progressDue(clock.now() - lastProgress, timing)) {
      lastProgress = clock.now()
      log.info(
        `${formatDuration(clock.now() - start)} waiting for ${options.what} (at most ${formatDuration(options.deadline - start)}); ` +
          `rack ${state.status ?? 'status not known yet'}; last error: ${state.lastError ?? 'none'}.`
      )
    }
    delay = step.delayMs
  }
}

/** Waits out an update this run asked for and saw begin; a failed or unfinished one is said in one sentence. Returns how long it took. */
export async function endOfUpdate(ctx: RotationContext, options: WaitOptions): Promise<number> {
  // The request was taken (or the rack was seen updating since): a `running` now means it is over.
  const end = await waitForUpdate(ctx, { ...options, sawUpdating: true })
  if (end.kind === 'live') return end.ms
  if (end.kind === 'failed') throw new ConvoxError(updateFailed(ctx.name, options.what, end.state))
  throw new ConvoxError(updateTimedOut(ctx.naming, ctx.name, options.what, ctx.timeoutMs, end.state))
}

/** Waits out an update found under way, before asking for one: never a second update meanwhile. */
export async function waitForRunning(
  ctx: RotationContext,
  ask: Ask,
  what: string,
  deadline: number
): Promise<void> {
  const end = await waitForUpdate(ctx, { what, ask, sawUpdating: true, firstPollAfterMs: 0, deadline })
  if (end.kind !== 'live')
    throw new ConvoxError(notRunningBefore(ctx.naming, ctx.name, ctx.timeoutMs, end.state))
}

async function look(ctx: RotationContext, ask: Ask, elapsedMs: number): Promise<Seen> {
  if (ask === 'record') {
    const record = await readRecord(ctx)
    return record.ok
      ? { kind: 'status', status: record.value.status, elapsedMs }
      : { kind: 'failed', reason: record.reason, retryAfterMs: record.retryAfterMs, elapsedMs }
  }
  const status = await readStatus(ctx)
  return status.ok
    ? { kind: 'status', status: status.value, elapsedMs }
    : { kind: 'failed', reason: status.reason, retryAfterMs: status.retryAfterMs, elapsedMs }
}
