import { ConvoxError } from '../errors.ts'
import type { Naming } from '../naming.ts'
import { putRefused, putUnclear } from './messages.ts'
import type { RackRecord, RotationContext } from './requests.ts'
import { readRecord, updateParams } from './requests.ts'
import { endOfUpdate, waitForRunning } from './wait.ts'

/**
 * A v3 rack's password, rotated by the Console that manages it (docs/convox.md, section 7): the
 * rack parameter `rotate_api_password=true`, sent as the v3 CLI sends parameters, then the update
 * ridden out. Console keeps the new password and the job's Console token does not change, so there
 * is nothing to store.
 *
 * A run cut short (cancelled, killed) leaves the rack `updating`; the next run finds Console's
 * record so and waits for that update instead of asking for a second rotation.
 */

export interface PasswordRotation {
  ms: number
  /** True when an update was already under way and this run only waited for it. */
  resumed: boolean
}

export async function rotateConsolePassword(
  ctx: RotationContext,
  record: RackRecord,
  naming: Naming,
  deadline: number
): Promise<PasswordRotation> {
  const { clock, log } = ctx
  const start = clock.now()
  const what = 'Console to rotate the rack password'
  if (record.status !== 'running' && record.status !== 'failed') {
    log.info(
      `${ctx.name} is already ${record.status} (an earlier rotation cut short, or another change): waiting for that update ` +
        'to end instead of asking for a second one; run again afterwards to rotate if it was not a rotation.'
    )
    await waitForRunning(ctx, 'record', what, deadline)
    return { ms: clock.now() - start, resumed: true }
  }
  log.info(`Asking Console to rotate the password of ${ctx.name} (rotate_api_password=true).`)
  const answer = await updateParams(ctx, { rotate_api_password: 'true' }, record.version)
  if (!answer.ok) {
    if (!answer.transient) throw new ConvoxError(putRefused(ctx.name, answer.reason, naming))
    // A 5xx or a cut connection may come after Console acted: its record tells.
    const again = await readRecord(ctx)
    if (!again.ok || again.value.status === 'running')
      throw new ConvoxError(putUnclear(ctx.name, answer.reason))
  }
  log.info('Console started the rotation; waiting for the rack to restart its API on the new password.')
  await endOfUpdate(ctx, { what, ask: 'record', firstPollAfterMs: ctx.timing.firstPollMs, deadline })
  return { ms: clock.now() - start, resumed: false }
}
