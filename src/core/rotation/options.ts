import { InputError } from '../errors.ts'
import type { Naming } from '../naming.ts'

/**
 * The rules for the instance keyroll's options, shared by the action's inputs and the command's
 * flags: they take raw values and the front end's Naming, so both refuse in the same sentence,
 * each in its own words.
 */

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface InstancesOptions {
  instancesKeyroll: boolean
  validate: boolean
  /** The names of the private key's store options that were given (`ssh-key-secret`, ...). */
  sshKeyStores: string[]
}

export function checkInstancesOptions(options: InstancesOptions, naming: Naming): void {
  const [first, second] = options.sshKeyStores
  if (!options.instancesKeyroll && first) {
    throw new InputError(
      `${naming.subject(first)} is only used with ${naming.set('instances-keyroll', 'true')}: remove it or add that.`
    )
  }
  if (second) {
    throw new InputError(
      `Both ${naming.ref(first!)} and ${naming.ref(second)} are given: keep the private key in one store.`
    )
  }
  if (options.instancesKeyroll && !options.validate) {
    throw new InputError(
      `${naming.set('instances-keyroll', 'true')} needs the API, but ${naming.set('validate', 'false')} is given: remove ${naming.set('validate', 'false')}.`
    )
  }
}

/** A GitHub Actions secret for the private key: GitHub's rules for a name (GITHUB_ is reserved). */
export function checkSshKeySecretName(name: string, option: string, naming: Naming): void {
  if (!SECRET_NAME.test(name) || /^GITHUB_/i.test(name)) {
    throw new InputError(
      `${naming.subject(option)} "${name}" is not a valid secret name: use letters, digits and _, not starting with a digit or GITHUB_.`
    )
  }
}
