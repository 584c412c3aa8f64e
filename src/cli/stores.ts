import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { realClock } from '../core/clock.ts'
import { ConvoxError, InputError } from '../core/errors.ts'
import { cleanKey } from '../core/options.ts'
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
 * The keyroll's flags: where the new key goes (a GitHub secret, a GitLab variable or a file), the
 * pending key of an earlier roll, and the store object the core's keyroll writes through.
 */

export type StoreSettings =
  | { kind: 'github'; name: string; repository: string; environment?: string; token: string; apiUrl: string }
  | { kind: 'gitlab'; name: string; project: string; token: string; apiUrl: string }
  | { kind: 'file' }

/** A keyroll's options: a login's (its keyrollTimeoutMs and passwordNext among them) and its store. */
export interface KeyrollSettings extends LoginSettings {
  /** Without another store, the new key's file. */
  nextPasswordFile?: string
  store: StoreSettings
}

export function keyrollSettings(flags: Flags, ctx: Context): KeyrollSettings {
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
    const store = storeSettings(flags, ctx, nextPasswordFile)
    let passwordNext = ''
    if (nextPasswordFile) {
      if (store.kind === 'file') checkWritableDir(nextPasswordFile, '--next-password-file')
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
    return { ...login, passwordNext, nextPasswordFile, store }
  })
}

function storeSettings(flags: Flags, ctx: Context, nextPasswordFile: string | undefined): StoreSettings {
  const { env } = ctx
  const github = text(flags, 'github-secret')
  const gitlab = text(flags, 'gitlab-variable')
  for (const [flag, needs] of [
    ['github-repo', 'github-secret'],
    ['github-environment', 'github-secret'],
    ['gitlab-project', 'gitlab-variable']
  ] as const) {
    if (text(flags, flag) && !text(flags, needs)) {
      throw new InputError(
        `--${flag} is given without --${needs}: name the ${needs.split('-')[1]} to update in --${needs}.`
      )
    }
  }
  if (github && gitlab) {
    throw new InputError('Both --github-secret and --gitlab-variable are given: keep the key in one store.')
  }
  if (github) {
    const token = (env.GITHUB_TOKEN ?? '').trim()
    const repository = text(flags, 'github-repo') || (env.GITHUB_REPOSITORY ?? '').trim()
    if (!repository) {
      throw new InputError(
        '--github-secret needs a repository: pass --github-repo owner/name (or set GITHUB_REPOSITORY).'
      )
    }
    return {
      kind: 'github',
      name: github,
      repository,
      environment: text(flags, 'github-environment') || undefined,
      token,
      apiUrl: env.GITHUB_API_URL || 'https://api.github.com'
    }
  }
  if (gitlab) {
    const token = (env.GITLAB_TOKEN ?? '').trim()
    if (!token) {
      throw new InputError(
        env.CI_JOB_TOKEN
          ? '--gitlab-variable needs GITLAB_TOKEN: CI_JOB_TOKEN cannot write CI/CD variables. Set GITLAB_TOKEN (a masked variable) to a ' +
              'project or group access token with the api scope and the Maintainer role.'
          : '--gitlab-variable needs GITLAB_TOKEN set to a project or group access token with the api scope and the Maintainer role.'
      )
    }
    const project = text(flags, 'gitlab-project') || (env.CI_PROJECT_ID ?? '').trim()
    if (!project) {
      throw new InputError(
        '--gitlab-variable needs a project: pass --gitlab-project ID (or set CI_PROJECT_ID).'
      )
    }
    const apiUrl = (env.CI_API_V4_URL ?? '').trim()
    if (!apiUrl) {
      throw new InputError(
        "--gitlab-variable needs GitLab's API URL in CI_API_V4_URL, such as https://gitlab.com/api/v4 (GitLab CI sets it in every job)."
      )
    }
    return { kind: 'gitlab', name: gitlab, project, token, apiUrl }
  }
  if (!nextPasswordFile) {
    throw new InputError(
      'A keyroll makes a new key, which needs somewhere to go: pass --github-secret NAME, --gitlab-variable NAME, ' +
        'or --next-password-file F to have it written to a file you then store.'
    )
  }
  return { kind: 'file' }
}

export function makeStore(keyroll: KeyrollSettings, log: CliLog, ctx: Context): SecretStore {
  const { store } = keyroll
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
    return new KeyFileStore(keyroll.nextPasswordFile!)
  } catch (error) {
    if (error instanceof ConvoxError) throw new UsageError(error.message, 'keyroll')
    throw error
  }
}
