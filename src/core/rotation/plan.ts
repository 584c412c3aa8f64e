import { ConvoxError } from '../errors.ts'
import type { Naming } from '../naming.ts'
import type { SecretStore } from '../stores/store.ts'
import {
  consoleV2Refusal,
  consoleWithoutRackRefusal,
  instancesNotManagedRefusal,
  instancesStoreRefusal,
  notManagedRefusal,
  passwordStoreRefusal,
  recordUnreadable,
  v3DirectRefusal
} from './messages.ts'
import type { RackRecord, RotationContext } from './requests.ts'
import { readRecordSteadily } from './requests.ts'

/**
 * What a keyroll will do on this login, decided from what the login already read (the host's
 * kind, the rack and its version) and, for a v3 rack behind Console, Console's record of it: one
 * GET, before the settings are written. Every refusal is thrown here, so a refused rotation
 * changes nothing on disk and sends nothing that changes a rack.
 */

export interface RotationAsk {
  /** keyroll: the rack password. */
  password: boolean
  /** A store for a v2 rack's new password was given, or none is needed (the action's output). */
  passwordStore: boolean
  /** instances-keyroll: the instances' SSH key. */
  instances: boolean
  /** Where a v3 rack's new private key goes. */
  sshKeyStore?: SecretStore
}

export interface RotationPlan {
  /** `rack`: a v2 rack's Password parameter (keyroll/); `console`: a v3 rack's, rotated by Console. */
  password?: 'rack' | 'console'
  instances?: 'v2' | 'v3'
  /** Console's record, when the rack is behind Console and v3. */
  record?: RackRecord
}

export interface LoginFacts {
  kind: 'console' | 'rack'
  /** `org/rack` on Console, the rack's name on a Rack. */
  rack: string
  rackVersion: string
}

export const isV3 = (version: string) => /^3\./.test(version)

export async function planRotation(
  ask: RotationAsk,
  login: LoginFacts,
  ctx: RotationContext,
  naming: Naming
): Promise<RotationPlan> {
  const plan: RotationPlan = {}
  const v3 = isV3(login.rackVersion)
  const onConsole = login.kind === 'console'
  if (onConsole && !login.rack) {
    throw new ConvoxError(consoleWithoutRackRefusal(naming, ask.password ? 'keyroll' : 'instances-keyroll'))
  }
  if (ask.password) {
    if (!onConsole && v3) throw new ConvoxError(v3DirectRefusal(naming, login.rack, login.rackVersion))
    if (onConsole && !v3) throw new ConvoxError(consoleV2Refusal(naming, login.rack))
    if (!onConsole && !ask.passwordStore) throw new ConvoxError(passwordStoreRefusal(naming))
    plan.password = onConsole ? 'console' : 'rack'
  }
  if (ask.instances) {
    plan.instances = v3 ? 'v3' : 'v2'
    if (v3 && !onConsole) throw new ConvoxError(instancesNotManagedRefusal(naming, login.rack, true))
    if (v3 && !ask.sshKeyStore) throw new ConvoxError(instancesStoreRefusal(naming, login.rack))
  }
  if (onConsole && v3) {
    const record = await readRecordSteadily(ctx)
    if (!record.ok) throw new ConvoxError(recordUnreadable(login.rack, record.reason))
    if (!record.value.managed) {
      throw new ConvoxError(
        plan.password
          ? notManagedRefusal(naming, login.rack)
          : instancesNotManagedRefusal(naming, login.rack, false)
      )
    }
    plan.record = record.value
  }
  return plan
}
