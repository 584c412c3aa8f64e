import { InputError } from '../core/errors.ts'
import { checkGitHubSecretName } from '../core/options.ts'
import { checkInstancesOptions, checkSshKeySecretName } from '../core/rotation/options.ts'
import { resolve } from 'node:path'
import type { Flags } from './args.ts'
import { FLAG_NAMING } from './args.ts'
import { checkWritableDir, text } from './flag-values.ts'
import type { Context } from './options.ts'

/**
 * Where a keyroll's keys go, from the flags: the rack password's store (a GitHub Actions secret, a
 * GitLab CI/CD variable, or the --next-password-file) and a v3 rack's new instance private key's
 * (--ssh-key-github-secret, --ssh-key-gitlab-variable, --ssh-key-file), by the same rules.
 */

export type StoreSettings =
  | { kind: 'github'; name: string; repository: string; environment?: string; token: string; apiUrl: string }
  | { kind: 'gitlab'; name: string; project: string; token: string; apiUrl: string }
  | { kind: 'file' }

/** The instance private key's store: a file is written as it is, with nothing beside it. */
export type SshKeyStoreSettings = StoreSettings & { file?: string }

export function sshKeyStoreSettings(
  flags: Flags,
  ctx: Context,
  instances: boolean,
  validate: boolean
): SshKeyStoreSettings | undefined {
  const given = ['ssh-key-github-secret', 'ssh-key-gitlab-variable', 'ssh-key-file'].filter(f =>
    text(flags, f)
  )
  // The shared rule names options by their input names; ssh-key-secret is --ssh-key-github-secret here.
  const asInput = (flag: string) => (flag === 'ssh-key-github-secret' ? 'ssh-key-secret' : flag)
  checkInstancesOptions(
    { instancesKeyroll: instances, validate, sshKeyStores: given.map(asInput) },
    FLAG_NAMING
  )
  const file = text(flags, 'ssh-key-file')
  if (file) {
    const path = resolve(ctx.cwd, file)
    checkWritableDir(path, '--ssh-key-file')
    return { kind: 'file', file: path }
  }
  const github = text(flags, 'ssh-key-github-secret')
  if (github) checkSshKeySecretName(github, 'ssh-key-secret', FLAG_NAMING)
  return secretStoreSettings(ctx, github, text(flags, 'ssh-key-gitlab-variable'), {
    github: '--ssh-key-github-secret',
    gitlab: '--ssh-key-gitlab-variable',
    repo: text(flags, 'github-repo'),
    environment: undefined,
    project: text(flags, 'gitlab-project')
  })
}

export function storeSettings(
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
    if (text(flags, flag) && !text(flags, needs)) {
      throw new InputError(
        `--${flag} is given without --${needs}: name the ${needs.split('-')[1]} to update in --${needs}.`
      )
    }
  }
  if (github && gitlab) {
    throw new InputError('Both --github-secret and --gitlab-variable are given: keep the key in one store.')
  }
  if (github) checkGitHubSecretName(github, FLAG_NAMING)
  const store = secretStoreSettings(ctx, github, gitlab, {
    github: '--github-secret',
    gitlab: '--gitlab-variable',
    repo: text(flags, 'github-repo'),
    environment: text(flags, 'github-environment') || undefined,
    project: text(flags, 'gitlab-project')
  })
  if (store) return store
  if (nextPasswordFile) return { kind: 'file' }
  if (deferred) return undefined
  throw new InputError(
    'A keyroll makes a new key, which needs somewhere to go: pass --github-secret NAME, --gitlab-variable NAME, ' +
      'or --next-password-file F to have it written to a file you then store.'
  )
}

/** A GitHub Actions secret or a GitLab CI/CD variable, with the token and place each needs; none when neither is named. */
function secretStoreSettings(
  ctx: Context,
  github: string,
  gitlab: string,
  where: { github: string; gitlab: string; repo: string; environment?: string; project: string }
): StoreSettings | undefined {
  const { env } = ctx
  if (github) {
    const token = (env.GITHUB_TOKEN ?? '').trim()
    if (!token) {
      throw new InputError(
        `${where.github} needs GITHUB_TOKEN set to a token that may write Actions secrets: a fine-grained token or a GitHub App token.`
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
          ? `${where.gitlab} needs GITLAB_TOKEN: CI_JOB_TOKEN cannot write CI/CD variables. Set GITLAB_TOKEN (a masked variable) to a ' +
              'project or group access token with the api scope and the Maintainer role.`
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
