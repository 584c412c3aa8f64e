import { formatDuration } from '../clock.ts'
import { ConvoxError } from '../errors.ts'
import type { Naming } from '../naming.ts'
import type { SecretStore } from '../stores/store.ts'

/**
 * What a person reads when a keyroll stops or cannot keep a key where it meant to: every refusal
 * and failure, side by side, so that they say the same things the same way. Each says what state
 * the keys are in and what to do, naming options in the words of the front end (naming.ts).
 * Reasons passed in are already scrubbed.
 */

/** A keyroll that was refused or did not finish. Never carries a key in its message. */
export class KeyrollError extends ConvoxError {
  override name = 'KeyrollError'
  /**
   * The new key when the rack may already use it, so the adapter can still set the masked
   * `password` output; undefined when the rack is known to keep the old key.
   */
  readonly pendingPassword: string | undefined

  constructor(message: string, pendingPassword?: string) {
    super(message)
    this.pendingPassword = pendingPassword
  }
}

// Refused before anything was sent (preflight.ts).

export const CONSOLE_REFUSAL =
  'keyroll refused: this host is a Console, and Console keeps each rack key itself: a key changed behind its ' +
  'back disconnects the rack from Console. Roll it with "Roll API key" in the Console web UI instead.'

export function v3Refusal(version: string): string {
  return (
    `keyroll refused: this is a v3 rack (version ${version}), whose password is a secret managed by the rack's ` +
    'Terraform, not a rack parameter, so PUT /system cannot change it. Rotate it through the Terraform that ' +
    'installed the rack (or reinstall it), then store the new key in the secret.'
  )
}

export const FAILED_RACK_REFUSAL =
  "keyroll refused: the rack's status is failed (its last CloudFormation update did not finish) and it will not " +
  'recover on its own. Nothing was changed; repair the stack in the AWS console, then run the keyroll again.'

export function passwordRefusal(store: SecretStore | undefined, naming: Naming): string {
  return (
    `keyroll refused: the rack does not accept ${naming.the('password')}${inParentheses(store, 'current')} (401 invalid authentication), and a keyroll ` +
    `starts from the key that works. If an earlier keyroll did not finish, pass the key it saved${inParentheses(store, 'next')} as ` +
    `${naming.ref('password-next')} to complete it.`
  )
}

export function statusUnreadable(reason: string): string {
  return `Could not read the rack's status before the keyroll: ${reason}. Nothing was changed.`
}

/** What the last wait saw of the rack, for the sentence that ends it. */
export interface Seen {
  status?: string
  lastError?: string
}

export function notRunningRefusal(timeoutMs: number, { status, lastError }: Seen, naming: Naming): string {
  const state = status ? `still ${status}` : `not answering (last error: ${lastError ?? 'none'})`
  return (
    `keyroll refused: the rack is ${state} after ${formatDuration(timeoutMs)} (${naming.ref('keyroll-timeout')}), and a key can only ` +
    'be rolled on a running rack, because CloudFormation refuses a second update while one runs. Nothing was ' +
    `changed; run the keyroll again when the rack is running, or raise ${naming.ref('keyroll-timeout')}.`
  )
}

// An earlier keyroll, found unfinished (recover.ts).

export function earlierRollFailed(store: SecretStore | undefined, naming: Naming): string {
  return (
    `The rack's status is failed while an earlier keyroll may be in progress. ${keptWhere(store, 'password-next', naming)} Repair the stack in the AWS ` +
    `console, then run again with the same ${naming.ref('password-next')}.`
  )
}

export function neitherKeyOpens(
  store: SecretStore | undefined,
  timeoutMs: number,
  lastError: string | undefined,
  naming: Naming
): string {
  return (
    `Neither key opens the rack: for ${formatDuration(timeoutMs)} it refused both ${naming.the('password')}${inParentheses(store, 'current')} and ` +
    `${naming.ref('password-next')}${inParentheses(store, 'next')} (last error: ${lastError ?? 'none'}). The key it expects is its Password parameter, ` +
    "which can't be read back: set a known one through the rack's CloudFormation stack in the AWS console " +
    '(Update stack, parameter Password), then put it in the secret.'
  )
}

export function earlierRollPending(
  store: SecretStore | undefined,
  timeoutMs: number,
  { status, lastError }: Seen,
  naming: Naming
): string {
  return (
    `The earlier keyroll is still in progress after ${formatDuration(timeoutMs)} (rack ${status ?? 'status unknown'}, ` +
    `last error: ${lastError ?? 'none'}). ${keptWhere(store, 'password-next', naming)} Run again later with the same ` +
    `${naming.ref('password-next')} to finish it.`
  )
}

// A new roll (roll.ts).

export function putRefused(reason: string): string {
  return `The rack refused the keyroll (${reason}): nothing changed and the current key still works.`
}

export function rolledBack(store: SecretStore | undefined): string {
  return (
    'The rack rolled the keyroll back (its CloudFormation update failed): it is running with the current key, which ' +
    `still works.${store ? ` The unused new key stays in ${store.describe('next')} until the next keyroll drops it.` : ''} ` +
    "See the stack's events in the AWS console, then run again."
  )
}

export function neverStarted(puts: number, lastAnswer: string): string {
  return (
    `The rack did not start the keyroll after ${puts} attempts (last answer: ${lastAnswer}): it is running and ` +
    'accepts only the current key, which still works. Nothing changed; run again later.'
  )
}

export function rollFailed(store: SecretStore | undefined, naming: Naming): string {
  return `The rack's status became failed during the keyroll. ${keptWhere(store, 'output', naming)} Repair the stack in the AWS console; ${rerun(store, naming)}`
}

export function rollTimedOut(
  store: SecretStore | undefined,
  timeoutMs: number,
  end: Seen & { everAccepted: boolean },
  naming: Naming
): string {
  return (
    `The keyroll did not finish within ${formatDuration(timeoutMs)} (${naming.ref('keyroll-timeout')}): the rack is ` +
    `${end.status ?? 'not answering'}, the new key ${end.everAccepted ? 'was accepted at times but not steadily' : 'not accepted yet'} ` +
    `(last error: ${end.lastError ?? 'none'}). ${keptWhere(store, 'output', naming)} ${rerun(store, naming)}`
  )
}

// The store (store.ts).

export function saveNextFailed(store: SecretStore, reason: string): string {
  return (
    `Could not save the new key to ${store.describe('next')} (${reason}), so the keyroll stopped ` +
    `before changing the rack: the current key still works. Check that the token given for ${store.describe('next')} may write it.`
  )
}

export function saveCurrentFailed(store: SecretStore, reason: string, naming: Naming): string {
  return (
    `The rack now uses the new key, but saving it to ${store.describe('current')} failed (${reason}). ` +
    `It is kept in ${store.describe('next')}: run again with ${naming.set('keyroll', 'true')} and ${naming.ref('password-next')} set to it to finish.`
  )
}

/** A warning: NEXT holds the same key as the current secret. */
export function deleteNextFailed(store: SecretStore, reason: string): string {
  return (
    `The new key is saved in ${store.describe('current')}, but removing ${store.describe('next')} failed ` +
    `(${reason}); it holds the same key and is harmless. Delete it by hand or let the next keyroll do it.`
  )
}

/** A warning: NEXT holds a key the rack never used. */
export function dropNextFailed(store: SecretStore, reason: string): string {
  return `Could not remove the unused key from ${store.describe('next')} (${reason}); the next keyroll checks it again.`
}

/** Where the pending key is: a store secret, or an output a later step must save. */
function keptWhere(
  store: SecretStore | undefined,
  source: 'password-next' | 'output',
  naming: Naming
): string {
  if (store) {
    return `Both keys are kept: the new one in ${store.describe('next')}, the old one in ${store.describe('current')}.`
  }
  if (source === 'password-next')
    return `The new key is still the one passed as ${naming.ref('password-next')}.`
  // Only the action rolls without a store: the command always has one (a file at least).
  return (
    `The new key is in the masked password output of this step only: no ${naming.ref('update-secret')} was given, so a later step must ` +
    'store it now, or it is lost once the rack finishes the update.'
  )
}

function rerun(store: SecretStore | undefined, naming: Naming): string {
  const again = `To finish, run again with ${naming.set('keyroll', 'true')} and ${naming.ref('password-next')} set to`
  return store ? `${again} ${store.describe('next')}.` : `${again} that key.`
}

/** ` (repository secret X of o/r)`, or nothing without a store. */
function inParentheses(store: SecretStore | undefined, which: 'current' | 'next'): string {
  return store ? ` (${store.describe(which)})` : ''
}
