import { NetworkError } from '../api.ts'
import { describeNetworkError, isTransientStatus } from '../http/retry.ts'
import type { Context } from './context.ts'
import { describeAnswer } from './probe.ts'

/**
 * The one request that changes the rack: PUT /system with the new Password parameter, sent once
 * per call. Whether to send it again is decided in roll.ts, and only ever with the same key.
 */

/** `ambiguous`: the rack may or may not have started the roll; only watching it tells. */
export type PutAnswer =
  { kind: 'ok' } | { kind: 'refused'; reason: string } | { kind: 'ambiguous'; reason: string }

export async function sendPut(ctx: Context, newKey: string): Promise<PutAnswer> {
  ctx.requests++
  try {
    const response = await ctx.api.send({
      method: 'PUT',
      path: '/system',
      form: { parameters: `Password=${newKey}` },
      timeoutMs: ctx.timing.putTimeoutMs
    })
    if (response.status >= 200 && response.status < 300) return { kind: 'ok' }
    const reason = describeAnswer(ctx, response)
    // A 5xx or 429 may come from a load balancer after the rack acted: not an answer about the roll.
    return isTransientStatus(response.status) ? { kind: 'ambiguous', reason } : { kind: 'refused', reason }
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { kind: 'ambiguous', reason: describeNetworkError(error) }
  }
}
