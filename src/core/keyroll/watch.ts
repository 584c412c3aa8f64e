import type { Context } from './context.ts'
import { sleepUntilNextPoll } from './context.ts'
import type { WatchEnd } from './observe.ts'
import { observe, startWatch } from './observe.ts'
import { probe } from './probe.ts'
import { pollDelay } from './timing.ts'

/**
 * Watching a roll that may be under way: after our PUT (roll.ts) or an earlier one (recover.ts).
 * What each answer means and what comes next is decided by `observe` (observe.ts), a pure step;
 * this loop only asks, logs what the step says and sleeps until the next poll (timing.ts). It ends
 * with what it saw; the callers decide what follows.
 */

export interface WatchOptions {
  next: string
  deadline: number
  /** The rack answered the PUT with ok (observe.ts `WatchPlan`). */
  started: boolean
  /** Wait this long before the first poll: right after a PUT the key cannot be live yet. */
  firstPollAfterMs: number
  /** For the progress lines: `waiting for <what>`. */
  what: string
}

/**
 * Waits until the rack accepts `next` on two checks in a row and says `running`, riding out 401,
 * 5xx, 429 and network errors. One GET /system with the new key per poll answers both questions;
 * the old key is asked too when the step needs it to tell a roll in progress from none.
 */
export async function watchRoll(ctx: Context, watch: WatchOptions): Promise<WatchEnd> {
  const { clock, log, timing } = ctx
  // Everything but the key: a step has no use for it.
  const { deadline, started, what } = watch
  const plan = { deadline, started, what, timing, timeoutMs: ctx.timeoutMs, startedAt: ctx.startedAt }
  const nextApi = ctx.api.withPassword(watch.next)
  let state = startWatch(clock.now())
  if (watch.firstPollAfterMs > 0) {
    await sleepUntilNextPoll(
      ctx,
      clock.now(),
      watch.firstPollAfterMs + Math.floor(clock.random() * timing.pollJitterMs),
      watch.deadline
    )
  }
  let key: 'new' | 'old' = 'new'
  let pollStart = clock.now()
  for (;;) {
    if (key === 'new') {
      pollStart = clock.now()
      ctx.polls++
    }
    const answer = await probe(ctx, key === 'new' ? nextApi : ctx.api)
    const step = observe(plan, state, { key, probe: answer, now: clock.now(), poll: ctx.polls })
    for (const line of step.log) log[line.level](line.message)
    if ('end' in step) return step.end
    state = step.state
    if (step.next.kind === 'ask-old') {
      key = 'old'
      continue
    }
    key = 'new'
    const { result, failures, retryAfterMs } = step.next
    await sleepUntilNextPoll(
      ctx,
      pollStart,
      pollDelay(result, failures, timing, clock.random(), retryAfterMs),
      watch.deadline
    )
  }
}
