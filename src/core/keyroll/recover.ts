import type { Context } from './context.ts'
import { earlierRollFailed, earlierRollPending, KeyrollError, neitherKeyOpens } from './messages.ts'
import { dropNext } from './store.ts'
import { watchRoll } from './watch.ts'

/**
 * `password-next` is set: an earlier keyroll stored that key and may have sent it. Find out what
 * became of it before doing anything else. True when the rack uses that key (the caller finishes
 * that roll), false when it never took effect and a new roll may start; it throws while the
 * earlier roll may still be under way, so that no second one starts.
 */
export async function recover(ctx: Context, pending: string, deadline: number): Promise<boolean> {
  const { log, store, naming } = ctx
  log.info(
    `${naming.ref('password-next')} is set: checking whether the earlier keyroll that saved it went through before starting another.`
  )
  const end = await watchRoll(ctx, {
    next: pending,
    deadline,
    started: false,
    firstPollAfterMs: 0,
    what: 'the earlier keyroll to finish'
  })
  if (end.kind === 'live') {
    log.info(
      `The rack uses the key from ${naming.ref('password-next')}: finishing the earlier keyroll instead of starting a new one.`
    )
    return true
  }
  if (end.kind === 'not-started') {
    log.info(
      `The rack is running and accepts only ${naming.the('password')}: the earlier keyroll never took effect. ` +
        'Dropping its unused key and starting a new keyroll.'
    )
    await dropNext(ctx)
    return false
  }
  if (end.kind === 'failed') throw new KeyrollError(earlierRollFailed(store, ctx.naming), pending)
  if (!end.everAccepted && !end.oldEverAccepted) {
    throw new KeyrollError(neitherKeyOpens(store, ctx.timeoutMs, end.lastError, ctx.naming))
  }
  throw new KeyrollError(earlierRollPending(store, ctx.timeoutMs, end, ctx.naming), pending)
}
