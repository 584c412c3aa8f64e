import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import type { SecretStore } from '../stores/store.ts'
import { rotateConsolePassword } from './console-password.ts'
import { rollInstancesV2, rollInstancesV3 } from './instances.ts'
import type { LoginFacts, RotationPlan } from './plan.ts'
import type { RotationApi, RotationContext } from './requests.ts'
import type { WindowTiming } from './window.ts'
import { WINDOW_TIMING } from './window.ts'
import type { KeyrollResult } from '../keyroll/keyroll.ts'

/**
 * The rotations beyond a v2 rack's own password (issue 18): a v3 rack's password through Console,
 * then the instances' SSH key, each waited out within keyroll-timeout. plan.ts decided, before
 * anything was written, which of them run; this runs them in that order and says what they did.
 *
 *   plan.ts              what runs, every refusal (one GET of Console's record at most)
 *   console-password.ts  rotate_api_password through Console
 *   instances.ts         POST /instances/keyroll, v2 and v3
 *   window.ts            the pure step over an update's window; wait.ts the loop around it
 *   requests.ts          every request; messages.ts every sentence
 */

export interface RotationResult {
  password?: { seconds: number; resumed: boolean }
  instances?: { seconds: number; keyPairName?: string }
}

export interface RotationOptions {
  /** Console's API on a Console login; the rack's, with the key it uses now, on a direct one. */
  api: RotationApi
  login: LoginFacts
  timeoutMs: number
  retryForMs: number
  sshKeyStore?: SecretStore
  clock: Clock
  log: Log
  naming: Naming
  forms: readonly string[]
  timing?: Partial<WindowTiming>
}

export function rotationContext(options: Omit<RotationOptions, 'sshKeyStore'>): RotationContext {
  return {
    api: options.api,
    rack: options.login.kind === 'console' ? options.login.rack : '',
    name: options.login.rack || options.api.host,
    clock: options.clock,
    log: options.log,
    naming: options.naming,
    timing: { ...WINDOW_TIMING, ...options.timing },
    timeoutMs: options.timeoutMs,
    retryForMs: options.retryForMs,
    forms: [...options.forms],
    requests: 0
  }
}

/** Runs what `plan` holds but a v2 rack's password (keyroll/, run before this by the flow). */
export async function runRotations(plan: RotationPlan, options: RotationOptions): Promise<RotationResult> {
  const ctx = rotationContext(options)
  const { clock, log } = ctx
  const result: RotationResult = {}
  if (plan.password === 'console') {
    const done = await log.group(`Rotate the password of ${ctx.name} through Console`, () =>
      rotateConsolePassword(ctx, plan.record!, options.naming, clock.now() + options.timeoutMs)
    )
    result.password = { seconds: Math.round(done.ms / 1000), resumed: done.resumed }
    log.info(
      `${done.resumed ? 'The update under way ended' : 'Password rotated'} in ${formatDuration(done.ms)}: Console holds the new ` +
        'password, so this login keeps working. RACK_URLs that embed the old password stop working; rack access tokens ' +
        'survive a password rotation (convox rack access key rotate revokes them).'
    )
  }
  if (plan.instances) {
    const done = await log.group(`Roll the instance SSH keys of ${ctx.name}`, () =>
      plan.instances === 'v3'
        ? rollInstancesV3(ctx, plan.record!, options.sshKeyStore!, clock.now() + options.timeoutMs)
        : rollInstancesV2(ctx, clock.now() + options.timeoutMs)
    )
    result.instances = { seconds: Math.round(done.ms / 1000), keyPairName: done.keyPairName }
    log.info(
      `Instance SSH keys rolled in ${formatDuration(done.ms)}` +
        `${done.keyPairName ? `: the instances use the key pair ${done.keyPairName}, whose private key is in ${options.sshKeyStore!.describe('current')}` : ''}.`
    )
  }
  return result
}

/** What was rotated and how long each took; the new key pair's name, never its private key. */
export function rotationOutputs(
  plan: RotationPlan,
  keyroll: KeyrollResult | undefined,
  rotation: RotationResult
): Record<string, string> {
  const rotated = [plan.password && 'rack-password', plan.instances && 'instance-keys'].filter(Boolean)
  const passwordSeconds = keyroll?.seconds ?? rotation.password?.seconds
  return {
    rotated: rotated.join(','),
    ...(passwordSeconds !== undefined && { 'keyroll-seconds': String(passwordSeconds) }),
    ...(rotation.instances && {
      'instances-keyroll-seconds': String(rotation.instances.seconds),
      'key-pair-name': rotation.instances.keyPairName ?? ''
    })
  }
}
