import type { Context } from './context.ts'
import { KeyrollError, neverStarted, putRefused, rolledBack, rollFailed, rollTimedOut } from './messages.ts'
import { sendPut } from './put.ts'
import { dropNext, saveNext } from './store.ts'
import { watchRoll } from './watch.ts'

/**
 * A new roll: NEXT first, then one PUT, then the wait. Returns once the rack uses `newKey`. The
 * PUT is sent again only here, only with the same key, only once the rack has shown that the
 * last send did not start a roll, and at most `maxPuts` times.
 */
export async function roll(ctx: Context, newKey: string): Promise<void> {
  const { log, store, timing, naming } = ctx
  if (store) {
    await saveNext(ctx, store, newKey)
    log.info(`The new key is saved in ${store.describe('next')}; asking the rack to use it (PUT /system).`)
  } else {
    log.warning(
      `keyroll without ${naming.ref('update-secret')}: until a later step stores it, the new key exists only in this job (the masked ` +
        `password output). If the job is cancelled mid-roll it can be lost; set ${naming.ref('update-secret')} to keep it safe.`
    )
    log.info('Asking the rack to use a new key (PUT /system).')
  }
  const deadline = ctx.clock.now() + ctx.timeoutMs
  for (let puts = 1; ; puts++) {
    const answer = await sendPut(ctx, newKey)
    if (answer.kind === 'refused' && puts === 1) {
      await dropNext(ctx)
      throw new KeyrollError(putRefused(answer.reason))
    }
    if (answer.kind === 'ok') {
      log.info(
        'The rack started the keyroll; waiting for it to take the new key (its API restarts meanwhile).'
      )
    } else if (answer.kind === 'refused') {
      // Refusing a re-send can mean the first send is being applied (UPDATE_IN_PROGRESS): not proof of anything.
      log.warning(
        `The rack refused the re-sent key (${answer.reason}); checking whether the earlier send started.`
      )
    } else {
      log.warning(
        `PUT /system got no clear answer (${answer.reason}): the keyroll may or may not have started. Checking the rack ` +
          'before doing anything else; only the same key is ever sent again.'
      )
    }
    const end = await watchRoll(ctx, {
      next: newKey,
      deadline,
      started: answer.kind === 'ok',
      firstPollAfterMs: timing.firstPollMs,
      what: 'the rack to take the new key'
    })
    if (end.kind === 'live') return
    if (end.kind === 'not-started' && end.sawChange) throw new KeyrollError(rolledBack(store))
    if (end.kind === 'not-started') {
      if (puts >= timing.maxPuts) {
        await dropNext(ctx)
        throw new KeyrollError(neverStarted(puts, answer.kind === 'ok' ? 'ok' : answer.reason))
      }
      log.info(
        'The rack is running and still refuses the new key on two checks: the keyroll did not start. Sending the same key again.'
      )
      continue
    }
    if (end.kind === 'failed') throw new KeyrollError(rollFailed(store, ctx.naming), newKey)
    throw new KeyrollError(rollTimedOut(store, ctx.timeoutMs, end, ctx.naming), newKey)
  }
}
