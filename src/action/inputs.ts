import type { Credential } from '../core/credential.ts'
import { parseRackUrl, recogniseCredential } from '../core/credential.ts'
import { InputError } from '../core/errors.ts'
import { normaliseHost, PUBLIC_CONSOLE_HOST } from '../core/host.ts'
import { INPUT_NAMING } from '../core/naming.ts'
import {
  checkCliDownloadUrl,
  checkCliVersion,
  checkGitHubSecretName,
  checkTrust,
  cleanKey,
  parseBoolean,
  parseConfigDir,
  parseKeyrollTimeout,
  parseRack,
  parseRetryFor
} from '../core/options.ts'
import type { MintSettings } from '../core/tokens/options.ts'
import { checkMintCombination, parseMintToken } from '../core/tokens/options.ts'

/**
 * Every input of the action, typed and checked in one place. Nothing else reads inputs, and
 * parsing happens before anything is sent or written, so bad input changes nothing.
 */
export interface Inputs {
  /** Normalised: no scheme, lower-case, port kept unless 443. */
  host: string
  /** The secret of `credential`: the key itself, from `password` or `rack-url`. */
  password: string
  /** What the key is (a password or a rack access token) and its Basic user name. */
  credential: Credential
  /** The `actor` input: `''` (derive it from the run), `none`, or the actor to send. */
  actor: string
  /** `''`, `org/rack` or a bare rack name. */
  rack: string
  validate: boolean
  /** Absolute path. */
  configDir: string
  exportEnv: boolean
  logout: boolean
  caCert: string
  insecure: boolean
  retryForMs: number
  keyroll: boolean
  keyrollTimeoutMs: number
  passwordNext: string
  updateSecret: string
  updateSecretEnvironment: string
  githubToken: string
  /** A job token to mint instead of handing over the key; none when undefined. */
  mint?: MintSettings
  /** The GitHub Actions secret that gets the minted RACK_URL; `''` for none. */
  tokenSecret: string
  revokeTokens: boolean
  /** What tokenSecret holds now (a rerun's evidence); `''` when not given. */
  storedRackUrl: string
  /** `''` (install nothing), `latest`, a v3 version `3.x.y` or a v2 timestamp. */
  cliVersion: string
  cliDownloadUrl: string
  cliToken: string
}

/** Returns an input's raw value, `''` when it was not given. */
export type InputGetter = (name: string) => string

export interface InputContext {
  home: string
  /** GITHUB_WORKSPACE: settings written under it could be checked in or uploaded. */
  workspace?: string
}

export function parseInputs(get: InputGetter, context: InputContext): Inputs {
  const text = (name: string) => get(name).trim()
  const bool = (name: string, fallback: boolean) => parseBoolean(get(name), name, fallback, INPUT_NAMING)
  const { host, credential } = parseCredential(get)
  const rack = parseRack(text('rack'), INPUT_NAMING)
  const validate = bool('validate', true)
  const caCert = get('ca-cert').trim()
  const insecure = bool('insecure', false)
  checkTrust(caCert, insecure, INPUT_NAMING)

  const keyroll = bool('keyroll', false)
  const passwordNext = get('password-next').trim()
  const updateSecret = text('update-secret')
  const updateSecretEnvironment = text('update-secret-environment')
  const githubToken = get('github-token').trim()
  const mint = parseMintToken(get('mint-token'), get('mint-token-hours'), INPUT_NAMING)
  const tokenSecret = text('token-secret')
  const revokeTokens = bool('revoke-tokens', false)
  const keyrollTimeoutMs = parseKeyrollTimeout(text('keyroll-timeout'), INPUT_NAMING)
  checkMintCombination(
    {
      mint,
      validate,
      keyroll,
      storeOrRevoke: tokenSecret !== '' || revokeTokens,
      revoke: revokeTokens,
      store: tokenSecret !== '',
      tokenLogin: credential.kind === 'token',
      timeoutMs: keyrollTimeoutMs
    },
    INPUT_NAMING
  )
  const storedRackUrl = get('stored-rack-url').trim()
  if (storedRackUrl && !revokeTokens) {
    throw new InputError(
      'The stored-rack-url input is only used with revoke-tokens: true: remove it or set revoke-tokens: true.'
    )
  }
  if (keyroll && !validate) {
    throw new InputError(
      'keyroll needs the API, but validate is false: remove validate: false to roll the key.'
    )
  }
  if (!keyroll) {
    const keyrollOnly = [
      'password-next',
      'update-secret',
      ...(tokenSecret ? [] : ['update-secret-environment'])
    ]
    for (const name of keyrollOnly) {
      if (get(name).trim())
        throw new InputError(
          `The ${name} input is only used with keyroll: true: remove it or set keyroll: true.`
        )
    }
  }
  if (updateSecret) {
    checkGitHubSecretName(updateSecret, INPUT_NAMING)
    if (!githubToken) {
      throw new InputError(
        'update-secret needs a github-token that may write Actions secrets: pass a fine-grained token or a GitHub App token.'
      )
    }
  } else if (tokenSecret) {
    checkGitHubSecretName(tokenSecret, INPUT_NAMING, 'token-secret')
    if (!githubToken) {
      throw new InputError(
        'token-secret needs a github-token that may write Actions secrets: pass a fine-grained token or a GitHub App token.'
      )
    }
  } else if (updateSecretEnvironment) {
    throw new InputError(
      'update-secret-environment is set without update-secret: name the secret to update in update-secret.'
    )
  }

  const cliVersion = text('cli-version')
  const cliDownloadUrl = text('cli-download-url')
  checkCliVersion(cliVersion, INPUT_NAMING)
  checkCliDownloadUrl(cliDownloadUrl, cliVersion, INPUT_NAMING)

  return {
    host,
    password: credential.secret,
    credential,
    actor: text('actor'),
    rack,
    validate,
    configDir: parseConfigDir(
      text('config-dir'),
      { ...context, suggestion: '${{ runner.temp }}/convox' },
      INPUT_NAMING
    ),
    exportEnv: bool('export-env', true),
    logout: bool('logout', true),
    caCert,
    insecure,
    retryForMs: parseRetryFor(text('retry-for'), INPUT_NAMING),
    keyroll,
    keyrollTimeoutMs,
    passwordNext,
    updateSecret,
    updateSecretEnvironment,
    githubToken,
    mint,
    tokenSecret,
    revokeTokens,
    storedRackUrl,
    cliVersion,
    cliDownloadUrl,
    cliToken: get('cli-token').trim()
  }
}

/** The key and its host: `password` (with `host`, Console by default) or `rack-url`, exactly one. */
function parseCredential(get: InputGetter): { host: string; credential: Credential } {
  const rackUrl = get('rack-url').trim()
  const hostInput = get('host').trim()
  if (rackUrl) {
    if (get('password').trim() !== '') {
      throw new InputError(
        'Both password and rack-url are set: give the key one way, rack-url (the whole RACK_URL) or host and password.'
      )
    }
    const parsed = parseRackUrl(rackUrl)
    // Console is the host's default only without rack-url, which names its own host.
    if (hostInput && normaliseHost(hostInput) !== parsed.host) {
      throw new InputError(
        `The host input names ${normaliseHost(hostInput)}, but rack-url names ${parsed.host}: remove host, or make the two agree.`
      )
    }
    return parsed
  }
  if (get('password').trim() === '') {
    throw new InputError(
      'The password input is empty, and rack-url is not set: pass the key from a secret (password: ${{ secrets.CONVOX_PASSWORD }}) ' +
        "or a rack's whole RACK_URL (rack-url: ${{ secrets.RACK_URL }}); if it is set, " +
        'note that GitHub does not pass secrets to workflows run from forks or by Dependabot.'
    )
  }
  const password = cleanKey(
    get('password'),
    'password',
    INPUT_NAMING,
    'store the key in the secret on one line'
  )
  const credential = recogniseCredential(password)
  const host = normaliseHost(hostInput || PUBLIC_CONSOLE_HOST)
  if (credential.kind === 'token' && !hostInput) {
    throw new InputError(
      `The password input is a rack access token, which only its rack accepts, but host is empty (so ${PUBLIC_CONSOLE_HOST}): ` +
        "set host to the rack's host, or pass the whole RACK_URL in rack-url instead of password."
    )
  }
  return { host, credential }
}
