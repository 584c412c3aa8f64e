import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { realClock } from '../core/clock.ts'
import { ConvoxError, InputError } from '../core/errors.ts'
import { checkGitHubSecretName, cleanKey } from '../core/options.ts'
import { checkInstancesOptions, checkSshKeySecretName } from '../core/rotation/options.ts'
import { writeAtomic } from '../core/settings/files.ts'
import { GitHubSecretStore } from '../core/stores/github.ts'
import { GitLabVariableStore } from '../core/stores/gitlab.ts'
import { KeyFileStore } from '../core/stores/key-file.ts'
import type { SecretStore } from '../core/stores/store.ts'
import type { Flags } from './args.ts'
import { UsageError } from './args.ts'
import { checkWritableDir, readText } from './flag-files.ts'
import type { CliLog } from './log.ts'
import type { Context, LoginSettings } from './options.ts'
import { loginSettings, namingOf, text, usage } from './options.ts'

/**
 * The keyroll's flags: where the keys it makes go (the rack password's new key: a GitHub secret, a
 * GitLab variable or a file; a v3 rack's new instance private key: --ssh-key-github-secret,
 * --ssh-key-gitlab-variable, --ssh-key-file), the pending key of an earlier roll, and the store
 * objects the core writes through.
 */

export type StoreSettings =
  | { kind: 'github'; name: string; repository: string; environment?: string; token: string; apiUrl: string }
  | { kind: 'gitlab'; name: string; project: string; token: string; apiUrl: string }
  | { kind: 'file' }

/** The instance private key's store: a file is written as it is, with nothing beside it. */
export type SshKeyStoreSettings = StoreSettings & { file?: string }

/** A keyroll's options: a login's (its keyrollTimeoutMs and passwordNext among them) and its stores. */
export interface KeyrollSettings extends LoginSettings {
  /** False with --instances-only. */
  rollPassword: boolean
  instances: boolean
  /** Without another store, the new key's file. */
  nextPasswordFile?: string
  /** None on a Console login (--rack): a v3 rack's password stays with Console; core/rotation/plan.ts decides. */
  store?: StoreSettings
  /** Where a v3 rack's new instance private key goes. */
  sshKeyStore?: SshKeyStoreSettings
}

export function keyrollSettings(flags: Flags, ctx: Context): KeyrollSettings {
  const instancesOnly = flags['instances-only'] === true
  // Before the login's rules, which would ask for the password store's token first.
  usage('keyroll', () => {
    const passwordFlag = ['github-secret', 'gitlab-variable', 'next-password-file'].find(
      flag => instancesOnly && text(flags, flag)
    )
    if (passwordFlag) {
      throw new InputError(
        `--${passwordFlag} is for the rack password, which --instances-only does not roll: remove it, or use --instances to roll both.`
      )
    }
  })
  const github = text(flags, 'github-secret')
  ctx.secrets.push(...[ctx.env.GITHUB_TOKEN, ctx.env.GITLAB_TOKEN].flatMap(token => token?.trim() || []))
  // The rules every keyroll follows (it needs the API; a GitHub secret needs a token) are the core's.
  const login = loginSettings(flags, ctx, {
    keyrollTimeout: text(flags, 'timeout'),
    githubSecret: github ? { name: github, token: (ctx.env.GITHUB_TOKEN ?? '').trim() } : undefined
  })
  return usage('keyroll', () => {
    const nextFlag = text(flags, 'next-password-file')
    const nextPasswordFile = nextFlag ? resolve(ctx.cwd, nextFlag) : undefined
    const instances = instancesOnly || flags.instances === true
    const sshKeyStore = sshKeyStoreSettings(flags, ctx, instances, login.validate)
    // A Console login may name a v3 rack, whose password Console keeps: whether a store is needed
    // is known once the rack has answered (core/rotation/plan.ts).
    const store = instancesOnly ? undefined : storeSettings(flags, ctx, nextPasswordFile, !!login.rack)
    let passwordNext = ''
    if (nextPasswordFile) {
      if (store?.kind === 'file') checkWritableDir(nextPasswordFile, '--next-password-file')
      // A missing or empty file is no pending key: the last roll finished, or there was none.
      const raw = existsSync(nextPasswordFile) ? readText(nextPasswordFile, '--next-password-file') : ''
      ctx.secrets.push(raw.trim())
      passwordNext = cleanKey(
        raw,
        'password-next',
        namingOf(ctx),
        'the file must hold one key on one line'
      ).trim()
    }
    return {
      ...login,
      rollPassword: !instancesOnly,
      instances,
      passwordNext,
      nextPasswordFile,
      store,
      sshKeyStore
    }
  })
}

function sshKeyStoreSettings(
  flags: Flags,
  ctx: Context,
  instances: boolean,
  validate: boolean
): SshKeyStoreSettings | undefined {
  const naming = namingOf(ctx)
  const given = ['ssh-key-github-secret', 'ssh-key-gitlab-variable', 'ssh-key-file'].filter(f =>
    text(flags, f)
  )
  // The shared rule names options by their input names; ssh-key-secret is --ssh-key-github-secret here.
  const asInput = (flag: string) => (flag === 'ssh-key-github-secret' ? 'ssh-key-secret' : flag)
  checkInstancesOptions({ instancesKeyroll: instances, validate, sshKeyStores: given.map(asInput) }, naming)
  const file = text(flags, 'ssh-key-file')
  if (file) {
    const path = resolve(ctx.cwd, file)
    checkWritableDir(path, '--ssh-key-file')
    return { kind: 'file', file: path }
  }
  const github = text(flags, 'ssh-key-github-secret')
  if (github) checkSshKeySecretName(github, 'ssh-key-secret', naming)
  return secretStoreSettings(ctx, flags, 'ssh-key-')
}

function storeSettings(
  flags: Flags,
  ctx: Context,
  nextPasswordFile: string | undefined,
  deferred: boolean
): StoreSettings | undefined {
  const github = text(flags, 'github-secret')
  const gitlab = text(flags, 'gitlab-variable')
  for (const [flag, needs] of [
    ['github-repo', 'github-secret'],
    ['github-environment', 'github-secret'],
    ['gitlab-project', 'gitlab-variable']
  ] as const) {
    if (text(flags, flag) && !text(flags, needs) && !text(flags, `ssh-key-${needs}`)) {
      throw new InputError(
        `--${flag} is given without --${needs}: name the ${needs.split('-')[1]} to update in --${needs}.`
      )
    }
  }
  if (github && gitlab) {
    throw new InputError('Both --github-secret and --gitlab-variable are given: keep the key in one store.')
  }
  if (github) checkGitHubSecretName(github, namingOf(ctx))
  const store = secretStoreSettings(ctx, flags, '')
  if (store) return store
  if (nextPasswordFile) return { kind: 'file' }
  if (deferred) return undefined
  throw new InputError(
    'A keyroll makes a new key, which needs somewhere to go: pass --github-secret NAME, --gitlab-variable NAME, ' +
      'or --next-password-file F to have it written to a file you then store.'
  )
}

/** The renewal's store: a GitHub secret, a GitLab variable or a file, at most one. */
export function tokenStoreSettings(flags: Flags, ctx: Context): { store?: StoreSettings; file?: string } {
  const github = text(flags, 'token-github-secret')
  const gitlab = text(flags, 'token-gitlab-variable')
  const fileFlag = text(flags, 'token-file')
  const given = [
    github && '--token-github-secret',
    gitlab && '--token-gitlab-variable',
    fileFlag && '--token-file'
  ]
  const named = given.filter(Boolean)
  if (named.length > 1)
    throw new InputError(`Both ${named[0]} and ${named[1]} are given: keep the token in one store.`)
  if (github) checkGitHubSecretName(github, namingOf(ctx), 'token-secret')
  const store = secretStoreSettings(ctx, flags, 'token-')
  if (!fileFlag) return { store }
  const file = resolve(ctx.cwd, fileFlag)
  checkWritableDir(file, '--token-file')
  return { store: { kind: 'file' }, file }
}

/**
 * What the token store holds now, a rerun's evidence: a GitLab CI/CD variable is in the job's
 * environment, a GitHub secret when the workflow maps it there under its own name, a file is read.
 */
export function storedValue(
  tokens: { store?: StoreSettings; file?: string },
  ctx: Context
): { value: string; source: string } | undefined {
  const { store, file } = tokens
  if (!store) return undefined
  if (store.kind === 'file') {
    const value = existsSync(file!) ? readText(file!, '--token-file').trim() : ''
    return value ? { value, source: `--token-file ${file}` } : undefined
  }
  const value = (ctx.env[store.name] ?? '').trim()
  return value ? { value, source: `The variable ${store.name}` } : undefined
}

/** A GitHub Actions secret or a GitLab CI/CD variable, with the token and place each needs; none when neither is named. */
/**
 * A store named by `--<prefix>github-secret` or `--<prefix>gitlab-variable` (the key's, the
 * instance key's or the token's), in the place the shared `--github-repo`, `--github-environment`
 * and `--gitlab-project` flags (else the CI's variables) say.
 */
function secretStoreSettings(
  ctx: Context,
  flags: Flags,
  prefix: '' | 'ssh-key-' | 'token-'
): StoreSettings | undefined {
  const github = text(flags, `${prefix}github-secret`)
  const gitlab = text(flags, `${prefix}gitlab-variable`)
  const where = {
    github: `--${prefix}github-secret`,
    gitlab: `--${prefix}gitlab-variable`,
    repo: text(flags, 'github-repo'),
    environment: text(flags, 'github-environment') || undefined,
    project: text(flags, 'gitlab-project')
  }
  const { env } = ctx
  if (github) {
    const token = (env.GITHUB_TOKEN ?? '').trim()
    if (!token) {
      throw new InputError(
        `${where.github} needs a GITHUB_TOKEN that may write Actions secrets: a fine-grained token or a GitHub App token.`
      )
    }
    const repository = where.repo || (env.GITHUB_REPOSITORY ?? '').trim()
    if (!repository) {
      throw new InputError(
        `${where.github} needs a repository: pass --github-repo owner/name (or set GITHUB_REPOSITORY).`
      )
    }
    return {
      kind: 'github',
      name: github,
      repository,
      environment: where.environment,
      token,
      apiUrl: env.GITHUB_API_URL || 'https://api.github.com'
    }
  }
  if (gitlab) {
    const token = (env.GITLAB_TOKEN ?? '').trim()
    if (!token) {
      throw new InputError(
        env.CI_JOB_TOKEN
          ? `${where.gitlab} needs GITLAB_TOKEN: CI_JOB_TOKEN cannot write CI/CD variables. Set GITLAB_TOKEN (a masked variable) to a ` +
              'project or group access token with the api scope and the Maintainer role.'
          : `${where.gitlab} needs GITLAB_TOKEN set to a project or group access token with the api scope and the Maintainer role.`
      )
    }
    const project = where.project || (env.CI_PROJECT_ID ?? '').trim()
    if (!project) {
      throw new InputError(
        `${where.gitlab} needs a project: pass --gitlab-project ID (or set CI_PROJECT_ID).`
      )
    }
    const apiUrl = (env.CI_API_V4_URL ?? '').trim()
    if (!apiUrl) {
      throw new InputError(
        `${where.gitlab} needs GitLab's API URL in CI_API_V4_URL, such as https://gitlab.com/api/v4 (GitLab CI sets it in every job).`
      )
    }
    return { kind: 'gitlab', name: gitlab, project, token, apiUrl }
  }
  return undefined
}

/**
 * The store object the core writes a key through, for the settings of one store; `file` is the
 * key file of a `file` store (the keyroll's --next-password-file, --token-file).
 */
export function makeStore(
  store: SshKeyStoreSettings,
  file: string | undefined,
  log: CliLog,
  ctx: Context
): SecretStore {
  const common = { clock: realClock, log, naming: namingOf(ctx), retryForMs: undefined, proxyEnv: ctx.env }
  try {
    if (store.kind === 'github') {
      return new GitHubSecretStore({
        ...common,
        apiUrl: store.apiUrl,
        repository: store.repository,
        token: store.token,
        name: store.name,
        environment: store.environment
      })
    }
    if (store.kind === 'gitlab') {
      return new GitLabVariableStore({
        ...common,
        apiUrl: store.apiUrl,
        project: store.project,
        token: store.token,
        name: store.name
      })
    }
    if (store.file) return privateKeyFile(store.file)
    return new KeyFileStore(file!)
  } catch (error) {
    if (error instanceof ConvoxError) throw new UsageError(error.message)
    throw error
  }
}

/** A v3 rack's new instance private key, written once (mode 0600) for the caller to store. */
function privateKeyFile(file: string): SecretStore {
  const unused = () => Promise.reject(new Error('an SSH key file holds one key'))
  return {
    describe: () => `the file ${file}`,
    writeCurrent: async key => writeAtomic(file, key),
    writeNext: unused,
    deleteNext: unused,
    close: () => undefined
  }
}
