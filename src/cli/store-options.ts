import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { InputError } from '../core/errors.ts'
import { checkGitHubSecretName } from '../core/options.ts'
import type { Flags } from './args.ts'
import { FLAG_NAMING } from './args.ts'
import { checkWritableDir, readText, text } from './flag-files.ts'
import type { Context } from './options.ts'

/**
 * The secret stores the command writes to, from their flags: the keyroll's (--github-secret,
 * --gitlab-variable, or a --next-password-file) and the token store's (--token-github-secret,
 * --token-gitlab-variable, --token-file), with the place flags they share.
 */

export type StoreSettings =
  | { kind: 'github'; name: string; repository: string; environment?: string; token: string; apiUrl: string }
  | { kind: 'gitlab'; name: string; project: string; token: string; apiUrl: string }
  | { kind: 'file' }

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

/** The renewal's store: a GitHub secret, a GitLab variable or a file, at most one. */
export function tokenStoreSettings(flags: Flags, ctx: Context): { store?: StoreSettings; file?: string } {
  const fileFlag = text(flags, 'token-file')
  const store = secretStoreSettings(flags, ctx, {
    github: 'token-github-secret',
    gitlab: 'token-gitlab-variable'
  })
  if (!fileFlag) return { store }
  if (store) {
    throw new InputError(
      `Both --token-file and --${store.kind === 'github' ? 'token-github-secret' : 'token-gitlab-variable'} are given: keep the token in one store.`
    )
  }
  const file = resolve(ctx.cwd, fileFlag)
  checkWritableDir(file, '--token-file')
  return { store: { kind: 'file' }, file }
}

export function storeSettings(
  flags: Flags,
  ctx: Context,
  nextPasswordFile: string | undefined
): StoreSettings {
  const store = secretStoreSettings(flags, ctx, { github: 'github-secret', gitlab: 'gitlab-variable' })
  if (store) return store
  if (!nextPasswordFile) {
    throw new InputError(
      'A keyroll makes a new key, which needs somewhere to go: pass --github-secret NAME, --gitlab-variable NAME, ' +
        'or --next-password-file F to have it written to a file you then store.'
    )
  }
  return { kind: 'file' }
}

/** The secret store named by the flags `names` gives (the keyroll's, or the token store's); none when neither is given. */
export function secretStoreSettings(
  flags: Flags,
  ctx: Context,
  names: { github: string; gitlab: string }
): StoreSettings | undefined {
  const { env } = ctx
  const github = text(flags, names.github)
  const gitlab = text(flags, names.gitlab)
  for (const [flag, needs] of [
    ['github-repo', names.github],
    ['github-environment', names.github],
    ['gitlab-project', names.gitlab]
  ] as const) {
    if (text(flags, flag) && !text(flags, needs)) {
      throw new InputError(
        `--${flag} is given without --${needs}: name the ${flag.split('-')[0] === 'github' ? 'secret' : 'variable'} to update in --${needs}.`
      )
    }
  }
  if (github && gitlab) {
    throw new InputError(`Both --${names.github} and --${names.gitlab} are given: keep the key in one store.`)
  }
  if (github) {
    checkGitHubSecretName(github, FLAG_NAMING, names.github)
    const token = (env.GITHUB_TOKEN ?? '').trim()
    if (!token) {
      throw new InputError(
        `--${names.github} needs GITHUB_TOKEN set to a token that may write Actions secrets: a fine-grained token or a GitHub App token.`
      )
    }
    const repository = text(flags, 'github-repo') || (env.GITHUB_REPOSITORY ?? '').trim()
    if (!repository) {
      throw new InputError(
        `--${names.github} needs a repository: pass --github-repo owner/name (or set GITHUB_REPOSITORY).`
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
          ? `--${names.gitlab} needs GITLAB_TOKEN: CI_JOB_TOKEN cannot write CI/CD variables. Set GITLAB_TOKEN (a masked variable) to a ` +
              'project or group access token with the api scope and the Maintainer role.'
          : `--${names.gitlab} needs GITLAB_TOKEN set to a project or group access token with the api scope and the Maintainer role.`
      )
    }
    const project = text(flags, 'gitlab-project') || (env.CI_PROJECT_ID ?? '').trim()
    if (!project) {
      throw new InputError(
        `--${names.gitlab} needs a project: pass --gitlab-project ID (or set CI_PROJECT_ID).`
      )
    }
    const apiUrl = (env.CI_API_V4_URL ?? '').trim()
    if (!apiUrl) {
      throw new InputError(
        `--${names.gitlab} needs GitLab's API URL in CI_API_V4_URL, such as https://gitlab.com/api/v4 (GitLab CI sets it in every job).`
      )
    }
    return { kind: 'gitlab', name: gitlab, project, token, apiUrl }
  }
  return undefined
}
