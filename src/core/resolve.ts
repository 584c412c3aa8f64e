import type { Credential } from './credential.ts'
import { recogniseCredential } from './credential.ts'
import { InputError } from './errors.ts'
import type { FlowOptions } from './flow.ts'
import { normaliseHost, PUBLIC_CONSOLE_HOST } from './host.ts'
import type { Naming } from './naming.ts'
import {
  checkGitHubSecretName,
  checkKeyrollKey,
  checkTrust,
  parseConfigDir,
  parseKeyrollTimeout,
  parseRack,
  parseRetryFor
} from './options.ts'

/**
 * The login's options as both front ends have them once read (the action's inputs, the command's
 * flags and environment), checked by the rules that span several of them, and mapped into the
 * flow's options. A front end reads its own names into LoginValues and hands them over; every
 * refusal is an InputError in that front end's words, raised before anything is sent or written.
 */

export interface LoginValues {
  /** The host as given; `''` for none, which means the public Console. */
  host: string
  /** The key, on one line, as the front end read it. */
  password: string
  rack: string
  validate: boolean
  /** As given: `~` and relative paths are resolved here. */
  configDir: string
  /** PEM text, `''` for none. */
  caCert: string
  insecure: boolean
  retryFor: string
  keyroll: boolean
  keyrollTimeout: string
  /** The pending key of an earlier roll, `''` for none. */
  passwordNext: string
  /** The GitHub Actions secret a keyroll keeps the new key in, and the token given to write it. */
  githubSecret?: { name: string; token: string }
}

export interface ResolveContext {
  home: string
  /** The CI's checkout: settings written under it could be checked in or uploaded. */
  workspace?: string
}

export interface ResolvedLogin {
  /** Normalised: no scheme, lower-case, port kept unless 443. */
  host: string
  password: string
  credential: Credential
  rack: string
  validate: boolean
  /** Absolute. */
  configDir: string
  caCert: string
  insecure: boolean
  retryForMs: number
  keyroll: boolean
  keyrollTimeoutMs: number
  passwordNext: string
}

export function resolveLogin(values: LoginValues, context: ResolveContext, naming: Naming): ResolvedLogin {
  const host = normaliseHost(values.host || PUBLIC_CONSOLE_HOST, naming)
  const credential = recogniseCredential(values.password, naming.subject('password'))
  if (credential.kind === 'token' && !values.host) {
    const rackUrl = naming.has('rack-url')
      ? `, or pass the whole RACK_URL in ${naming.ref('rack-url')} instead of ${naming.ref('password')}`
      : ''
    throw new InputError(
      `${naming.subject('password')} is a rack access token, which only its rack accepts, but ${naming.given('host', '')} ` +
        `(so ${PUBLIC_CONSOLE_HOST}): set ${naming.ref('host')} to the rack's host${rackUrl}.`
    )
  }
  if (values.keyroll) checkKeyrollKey(credential.user, naming)
  const rack = parseRack(values.rack, naming)
  checkTrust(values.caCert, values.insecure, naming)
  if (values.keyroll && !values.validate) {
    throw new InputError(
      `keyroll needs the API, but ${naming.given('validate', 'false')}: ${naming.unset('validate', 'false')} to roll the key.`
    )
  }
  const secret = values.githubSecret
  if (secret) {
    checkGitHubSecretName(secret.name, naming)
    if (!secret.token) {
      throw new InputError(
        `${naming.ref('update-secret')} needs a ${naming.ref('github-token')} that may write Actions secrets: ` +
          'pass a fine-grained token or a GitHub App token.'
      )
    }
  }
  const configDir = parseConfigDir(values.configDir, context, naming)
  return {
    host,
    password: values.password,
    credential,
    rack,
    validate: values.validate,
    configDir,
    caCert: values.caCert,
    insecure: values.insecure,
    retryForMs: parseRetryFor(values.retryFor, naming),
    keyroll: values.keyroll,
    keyrollTimeoutMs: parseKeyrollTimeout(values.keyrollTimeout, naming),
    passwordNext: values.passwordNext
  }
}

/** What to warn of before the login starts: true of the options given, and no reason to stop. */
export function loginWarnings(login: Pick<ResolvedLogin, 'host' | 'insecure'>, naming: Naming): string[] {
  return login.insecure
    ? [
        `${naming.given('insecure', 'true')}: the TLS certificate of ${login.host} is not verified, so a machine in the middle could read the key.`
      ]
    : []
}

/**
 * The flow's login options for a resolved login: the same mapping in both front ends. The actor
 * is resolved by the front end (it knows the run); proxyEnv holds HTTPS_PROXY and NO_PROXY as the
 * process has them, since the core reads no environment.
 */
export function flowLogin(
  login: Omit<ResolvedLogin, 'keyroll' | 'keyrollTimeoutMs' | 'passwordNext'>,
  actor: string,
  proxyEnv: Readonly<Record<string, string | undefined>>
): FlowOptions['login'] {
  return {
    host: login.host,
    password: login.password,
    user: login.credential.user,
    actor,
    rack: login.rack,
    validate: login.validate,
    configDir: login.configDir,
    connection: { caCert: login.caCert || undefined, insecure: login.insecure, proxyEnv },
    retryForMs: login.retryForMs
  }
}
