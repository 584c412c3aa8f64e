import type { SecretStore } from '../stores/store.ts'
import type { Context } from './context.ts'
import {
  deleteNextFailed,
  dropNextFailed,
  KeyrollError,
  saveCurrentFailed,
  saveNextFailed
} from './messages.ts'

/**
 * Every write to the store, in the order the rule asks (../keyroll.ts): NEXT before the PUT,
 * then the current secret, and NEXT dropped only once it is known to be spent or unused.
 */

/** Before the rack hears of the key: if this fails, nothing is sent. */
export async function saveNext(ctx: Context, store: SecretStore, newKey: string): Promise<void> {
  try {
    await store.writeNext(newKey)
  } catch (error) {
    throw new KeyrollError(saveNextFailed(store, reason(ctx, error)))
  }
}

/** Once the rack uses `newKey`. NEXT holds the same key then, so failing to drop it is only a warning. */
export async function makeCurrent(ctx: Context, store: SecretStore, newKey: string): Promise<void> {
  try {
    await store.writeCurrent(newKey)
  } catch (error) {
    throw new KeyrollError(saveCurrentFailed(store, reason(ctx, error), ctx.naming), newKey)
  }
  try {
    await store.deleteNext()
  } catch (error) {
    ctx.log.warning(deleteNextFailed(store, reason(ctx, error)))
  }
}

/** Drops NEXT when it is known to be unused. A failure is only a warning: the next keyroll checks it again. */
export async function dropNext(ctx: Context): Promise<void> {
  if (!ctx.store) return
  try {
    await ctx.store.deleteNext()
  } catch (error) {
    ctx.log.warning(dropNextFailed(ctx.store, reason(ctx, error)))
  }
}

/** The store's own words, scrubbed: its errors may quote what it was sent. */
function reason(ctx: Context, error: unknown): string {
  return ctx.scrub(error instanceof Error ? error.message : String(error))
}
