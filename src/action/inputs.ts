import type { Credential } from '../core/credential.ts'
import { parseRackUrl } from '../core/credential.ts'
import { InputError } from '../core/errors.ts'
import { normaliseHost } from '../core/host.ts'
import { INPUT_NAMING } from './naming.ts'
import { checkCliDownloadUrl, checkCliVersion, cleanKey, parseBoolean } from '../core/options.ts'
import { resolveLogin } from '../core/resolve.ts'
import { checkInstancesOptions, checkSshKeySecretName } from '../core/rotation/options.ts'
import { checkGitHubSecretName } from '../core/options.ts'
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
  /** Roll the instances' SSH key; a v3 rack's private key goes to the secret `sshKeySecret`. */
  instancesKeyroll: boolean
  sshKeySecret: string
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
  const { host, password } = parseKey(get)
  const validate = bool('validate', true)
  const insecure = bool('insecure', false)
  const keyroll = bool('keyroll', false)
  const updateSecret = text('update-secret')
  const updateSecretEnvironment = text('update-secret-environment')
  const githubToken = get('github-token').trim()
  const { keyrollTimeoutMs, passwordNext, ...login } = resolveLogin(
    {
      host,
      password,
      rack: text('rack'),
      validate,
      configDir: text('config-dir'),
      caCert: get('ca-cert').trim(),
      insecure,
      retryFor: text('retry-for'),
      keyroll,
      keyrollTimeout: text('keyroll-timeout'),
      passwordNext: get('password-next').trim(),
      githubSecret: keyroll && updateSecret ? { name: updateSecret, token: githubToken } : undefined
    },
    context,
    INPUT_NAMING
  )
  const mint = parseMintToken(get('mint-token'), get('mint-token-hours'), INPUT_NAMING)
  const tokenSecret = text('token-secret')
  const revokeTokens = bool('revoke-tokens', false)
  checkMintCombination(
    {
      mint,
      validate,
      keyroll,
      storeOrRevoke: tokenSecret !== '' || revokeTokens,
      revoke: revokeTokens,
      store: tokenSecret !== '',
      tokenLogin: login.credential.kind === 'token',
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
  const sshKeySecret = text('ssh-key-secret')
  if (!keyroll) {
    // An environment secret may also be what token-secret or ssh-key-secret names.
    const keyrollOnly = [
      'password-next',
      'update-secret',
      ...(tokenSecret || sshKeySecret ? [] : ['update-secret-environment'])
    ]
    for (const name of keyrollOnly) {
      if (get(name).trim())
        throw new InputError(
          `The ${name} input is only used with keyroll: true: remove it or set keyroll: true.`
        )
    }
  }
  if (tokenSecret) {
    checkGitHubSecretName(tokenSecret, INPUT_NAMING, 'token-secret')
    if (!githubToken) {
      throw new InputError(
        'token-secret needs a github-token that may write Actions secrets: pass a fine-grained token or a GitHub App token.'
      )
    }
  } else if (keyroll && !updateSecret && !sshKeySecret && updateSecretEnvironment) {
    throw new InputError(
      'update-secret-environment is set without update-secret: name the secret to update in update-secret.'
    )
  }

  const instancesKeyroll = bool('instances-keyroll', false)
  checkInstancesOptions(
    { instancesKeyroll, validate, sshKeyStores: sshKeySecret ? ['ssh-key-secret'] : [] },
    INPUT_NAMING
  )
  if (sshKeySecret) {
    checkSshKeySecretName(sshKeySecret, 'ssh-key-secret', INPUT_NAMING)
    if (!githubToken) {
      throw new InputError(
        'ssh-key-secret needs a github-token that may write Actions secrets: pass a fine-grained token or a GitHub App token.'
      )
    }
  }

  const cliVersion = text('cli-version')
  const cliDownloadUrl = text('cli-download-url')
  checkCliVersion(cliVersion, INPUT_NAMING)
  checkCliDownloadUrl(cliDownloadUrl, cliVersion, INPUT_NAMING)

  return {
    ...login,
    actor: text('actor'),
    exportEnv: bool('export-env', true),
    logout: bool('logout', true),
    keyroll,
    keyrollTimeoutMs,
    instancesKeyroll,
    sshKeySecret,
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

/**
 * The key and the host it goes to: `password` (with `host`, `''` for the Console) or `rack-url`,
 * exactly one; the rules that span options (a token needs its host) are the core's (resolve.ts).
 */
function parseKey(get: InputGetter): { host: string; password: string } {
  const rackUrl = get('rack-url').trim()
  const hostInput = get('host').trim()
  if (rackUrl) {
    if (get('password').trim() !== '') {
      throw new InputError(
        'Both password and rack-url are set: give the key one way, rack-url (the whole RACK_URL) or host and password.'
      )
    }
    const parsed = parseRackUrl(rackUrl, INPUT_NAMING)
    // Console is the host's default only without rack-url, which names its own host.
    if (hostInput && normaliseHost(hostInput, INPUT_NAMING) !== parsed.host) {
      throw new InputError(
        `The host input names ${normaliseHost(hostInput, INPUT_NAMING)}, but rack-url names ${parsed.host}: remove host, or make the two agree.`
      )
    }
    return { host: parsed.host, password: parsed.credential.secret }
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
  return { host: hostInput, password }
}
