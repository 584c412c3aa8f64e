import { formatDuration } from '../clock.ts'
import type { Naming } from '../naming.ts'
import type { SecretStore } from '../stores/store.ts'
import type { WindowState } from './window.ts'

/**
 * What a person reads about the rotations of a v3 rack password through Console and of instance
 * SSH keys: every refusal and failure side by side, each saying what state things are in and
 * what to do, options named in the front end's words (naming.ts). Reasons are already cleaned.
 */

const PASSWORD_ON_TERRAFORM = (rack: string) =>
  `convox rack params set rotate_api_password=true -r ${rack} on the machine that holds the rack's Terraform state, or "Rotate API Password" in the Console web UI`

// Refused before anything is written or sent that changes a rack (plan.ts).

export function v3DirectRefusal(n: Naming, rack: string, version: string): string {
  return (
    `${n.set('keyroll', 'true')} refused: ${rack} is a v3 rack (version ${version}) reached directly, and its password belongs to ` +
    `the rack's Terraform, which this job does not hold: rotate it with ${PASSWORD_ON_TERRAFORM(rack)} (or log in through Console ` +
    `with ${n.ref('rack')} if Console manages the rack). Nothing was changed.`
  )
}

export function consoleWithoutRackRefusal(n: Naming, what: 'keyroll' | 'instances-keyroll'): string {
  const v2 =
    what === 'keyroll'
      ? ` of a v3 rack Console manages (a v2 rack's key Console keeps itself: roll it with "Roll API key" in the Console web UI)`
      : ''
  return (
    `${n.set(what, 'true')} on a Console login needs ${n.ref('rack')} naming the rack to rotate: set ${n.ref('rack')} to <org>/<rack>${v2}. ` +
    'Nothing was changed.'
  )
}

export function consoleV2Refusal(n: Naming, rack: string): string {
  return (
    `${n.set('keyroll', 'true')} refused: ${rack} is a v2 rack, whose key Console keeps itself, and a key changed behind its back ` +
    'disconnects the rack from Console: roll it with "Roll API key" in the Console web UI instead. Nothing was changed.'
  )
}

export function notManagedRefusal(n: Naming, rack: string): string {
  return (
    `${n.set('keyroll', 'true')} refused: Console does not hold the Terraform state of ${rack} (its record has no state), so it ` +
    `cannot rotate the password: run ${PASSWORD_ON_TERRAFORM(rack)}. Nothing was changed.`
  )
}

export function recordUnreadable(rack: string, reason: string): string {
  return `Could not read Console's record of ${rack} (${reason}), which says whether Console can rotate it: nothing was changed; run again later.`
}

export function instancesNotManagedRefusal(n: Naming, rack: string, direct: boolean): string {
  return (
    `${n.set('instances-keyroll', 'true')} refused: ${rack} is a v3 rack ${direct ? 'reached directly' : 'whose Terraform state Console does not hold'}, ` +
    "and its new key pair must be applied through the rack's Terraform: run convox instances keyroll there, keep the private key it " +
    `prints, then convox rack params set key_pair_name=<its name> -r ${rack}. Nothing was created.`
  )
}

export function instancesStoreRefusal(n: Naming, rack: string): string {
  return (
    `${n.set('instances-keyroll', 'true')} on the v3 rack ${rack} makes a key pair whose private key is shown once and must be kept: ` +
    `set ${n.ref('ssh-key-secret')} to where it goes. Nothing was created.`
  )
}

export function passwordStoreRefusal(n: Naming): string {
  return (
    `A keyroll of a v2 rack makes a new key, which needs somewhere to go: set ${n.ref('update-secret')} (or another store). ` +
    'Nothing was changed.'
  )
}

// During a rotation (console-password.ts, instances.ts).

export function putRefused(rack: string, reason: string, n: Naming): string {
  return (
    `Console refused to update ${rack} (${reason}): nothing was changed and the password still works. Check that the rack is ` +
    `running and that this Console login may change it, then run ${n.set('keyroll', 'true')} again.`
  )
}

export function putUnclear(rack: string, reason: string): string {
  return (
    `Console gave no clear answer to the update of ${rack} (${reason}) and its record does not show it under way: ` +
    'run again; if the rack is updating by then, that run waits for it instead of rotating twice.'
  )
}

function seen(state: WindowState): string {
  return `rack ${state.status ?? 'status unknown'}, last error: ${state.lastError ?? 'none'}`
}

export function updateFailed(rack: string, what: string, state: WindowState): string {
  return (
    `The update of ${rack} (${what}) ended ${state.status ?? 'failed'}: see the rack's events (convox rack logs, or the Console ` +
    'web UI), then run again.'
  )
}

export function updateTimedOut(
  n: Naming,
  rack: string,
  what: string,
  timeoutMs: number,
  state: WindowState
): string {
  return (
    `The update of ${rack} (${what}) did not finish within ${formatDuration(timeoutMs)} (${n.ref('keyroll-timeout')}; ${seen(state)}): ` +
    'it may still finish on its own; run again later, and the run waits for it instead of starting another.'
  )
}

export function notRunningBefore(n: Naming, rack: string, timeoutMs: number, state: WindowState): string {
  return (
    `${rack} was still not running after ${formatDuration(timeoutMs)} (${n.ref('keyroll-timeout')}; ${seen(state)}), and a second update ` +
    'must not be thrown at it while one runs: nothing was changed; run again when it is running.'
  )
}

export function instancesUnsupported(rack: string): string {
  return `${rack} has no instance SSH keys to roll (POST /instances/keyroll answered 501: its provider does not offer them). Nothing was changed.`
}

export function instancesRefused(rack: string, reason: string): string {
  return `${rack} refused the instance keyroll (${reason}): nothing was changed; the instances keep their key.`
}

export function keyPairUnreadable(rack: string): string {
  return (
    `${rack} answered the instance keyroll without a key pair name and private key: nothing was applied, and the instances keep ` +
    'their key; a key pair may have been created in the cloud account: delete it there if one is listed.'
  )
}

export function keyStoreFailed(store: SecretStore, name: string, reason: string): string {
  return (
    `The key pair ${name} was created, but its private key could not be saved to ${store.describe('current')} (${reason}), so it ` +
    `was not applied: the instances keep their key. Delete the key pair ${name} in the cloud account, then run again.`
  )
}

export function keyPairPutRefused(rack: string, name: string, store: SecretStore, reason: string): string {
  return (
    `Console refused to apply the key pair ${name} to ${rack} (${reason}): the instances keep their key. Its private key is in ` +
    `${store.describe('current')}; apply it with convox rack params set key_pair_name=${name} -r ${rack}, or run again.`
  )
}
