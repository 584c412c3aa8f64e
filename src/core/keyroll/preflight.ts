import { formatDuration } from '../clock.ts'
import type { Context } from './context.ts'
import { elapsed, sleepUntilNextPoll } from './context.ts'
import {
  CONSOLE_REFUSAL,
  FAILED_RACK_REFUSAL,
  KeyrollError,
  notRunningRefusal,
  passwordRefusal,
  statusUnreadable,
  v3Refusal
} from './messages.ts'
import { probe } from './probe.ts'
import { pollDelay, progressDue } from './timing.ts'

/** What must hold before a new roll: a v2 rack, that accepts the current key and is `running`. */

/** Before any request: what the host and version already tell. */
export function refuseUnsupported(kind: 'rack' | 'console', version: string): void {
  if (kind === 'console') throw new KeyrollError(CONSOLE_REFUSAL)
  if (/^3\./.test(version)) throw new KeyrollError(v3Refusal(version))
}

/**
 * CloudFormation refuses an update while another runs, so wait for `running`, polling with the
 * current key and riding out transient failures until the deadline.
 */
export async function waitUntilRunning(ctx: Context, deadline: number): Promise<void> {
  const { clock, log, timing } = ctx
  let failures = 0
  let status: string | undefined
  let lastError: string | undefined
  let lastProgress = clock.now()
  for (;;) {
    const pollStart = clock.now()
    ctx.polls++
    const result = await probe(ctx, ctx.api)
    if (result.kind === 'accepted') {
      refuseUnsupported('rack', result.version)
      if (result.status === 'running') return
      if (result.status === 'failed') throw new KeyrollError(FAILED_RACK_REFUSAL)
      if (status !== result.status) {
        log.info(`The rack is ${result.status}; waiting for it to be running before rolling the key.`)
      }
      status = result.status
      failures = 0
    } else if (result.kind === 'rejected') {
      throw new KeyrollError(passwordRefusal(ctx.store, ctx.naming))
    } else if (!result.transient) {
      throw new KeyrollError(statusUnreadable(result.reason))
    } else {
      failures++
      lastError = result.reason
    }
    if (clock.now() >= deadline)
      throw new KeyrollError(notRunningRefusal(ctx.timeoutMs, { status, lastError }, ctx.naming))
    if (progressDue(clock.now() - lastProgress, timing)) {
      lastProgress = clock.now()
      log.info(
        `Keyroll: ${elapsed(ctx)} of ${formatDuration(ctx.timeoutMs)} waiting for the rack to be running; ` +
          `rack ${status ?? 'status not known yet'}; last error: ${lastError ?? 'none'}.`
      )
    }
    const retryAfter = result.kind === 'failed' ? result.retryAfterMs : undefined
    const delay = pollDelay(failures > 0 ? 'failed' : 'steady', failures, timing, clock.random(), retryAfter)
    await sleepUntilNextPoll(ctx, pollStart, delay, deadline)
  }
}
