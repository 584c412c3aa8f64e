import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Actor } from '../core/actor.ts'
import { resolveActor } from '../core/actor.ts'
import type { BasicUser } from '../core/credential.ts'
import { recogniseCredential } from '../core/credential.ts'
import { InputError } from '../core/errors.ts'
import { normaliseHost, PUBLIC_CONSOLE_HOST } from '../core/host.ts'
import {
  checkCliDownloadUrl,
  checkCliVersion,
  checkGitHubSecretName,
  checkTrust,
  cleanKey,
  parseConfigDir,
  parseKeyrollTimeout,
  parseRack,
  parseRetryFor
} from '../core/options.ts'
import type { MintSettings } from '../core/tokens/options.ts'
import { checkMintCombination, parseMintToken } from '../core/tokens/options.ts'
import type { Command, Flags, Format } from './args.ts'
import { FLAG_NAMING, FORMATS, UsageError } from './args.ts'
import type { Ci } from './ci.ts'
import { ciRun } from './ci.ts'
import { defaultStateFile } from './state-file.ts'

/**
 * From flags and environment to what each command runs with, by the action's rules
 * (core/options.ts). Everything is read and checked here, before anything is sent or written;
 * every refusal is a UsageError (exit 2).
 */

type Env = Readonly<Record<string, string | undefined>>

export interface Context {
  env: Env
  home: string
  cwd: string
  ci: Ci
  /** Standard input, read whole: only asked for with --password-stdin. */
  readStdin(): string
}

/** Where a handover goes: a --format, with `auto` decided, or CircleCI's BASH_ENV. */
export type Target = Exclude<Format, 'auto'> | 'bash-env'

export interface LoginSettings {
  host: string
  password: string
  /** `jwt` for a rack access token, else `convox`. */
  user: BasicUser
  actor: Actor
  rack: string
  validate: boolean
  configDir: string
  caCert: string
  insecure: boolean
  retryForMs: number
  target: Target
  dotenvFile?: string
  stateFile: string
  /** A job token to mint instead of handing over the key; none when undefined. */
  mint?: MintSettings
  /** Where the minted RACK_URL goes instead of to later steps (renewal); none when undefined. */
  tokenStore?: StoreSettings
  /** With tokenStore kind `file`: the file. */
  tokenFile?: string
  /** `--revoke-tokens`: how long the restart may take, and what the store holds now. */
  revoke?: { timeoutMs: number; stored?: { value: string; source: string } }
}

export type StoreSettings =
  | { kind: 'github'; name: string; repository: string; environment?: string; token: string; apiUrl: string }
  | { kind: 'gitlab'; name: string; project: string; token: string; apiUrl: string }
  | { kind: 'file' }

export interface KeyrollSettings extends LoginSettings {
  timeoutMs: number
  passwordNext?: string
  /** Without another store, the new key's file. */
  nextPasswordFile?: string
  store: StoreSettings
}

export interface LogoutSettings {
  configDir: string
  stateFile: string
}

export interface InstallSettings {
  version: string
  downloadUrl?: string
  cacheDir: string
  target: Target
}

const text = (flags: Flags, name: string): string => {
  const value = flags[name]
  return typeof value === 'string' ? value.trim() : ''
}

export function loginSettings(flags: Flags, ctx: Context, command: Command = 'login'): LoginSettings {
  return usage(command, () => {
    const password = readKey(flags, ctx)
    const hostGiven = text(flags, 'host') || (ctx.env.CONVOX_HOST ?? '').trim()
    const host = normaliseHost(hostGiven || PUBLIC_CONSOLE_HOST, FLAG_NAMING)
    const credential = recogniseCredential(password)
    if (credential.kind === 'token' && !hostGiven) {
      throw new InputError(
        `The key is a rack access token, which only its rack accepts, but no host is given (so ${PUBLIC_CONSOLE_HOST}): ` +
          "set --host or CONVOX_HOST to the rack's host."
      )
    }
    const rack = parseRack(text(flags, 'rack') || (ctx.env.CONVOX_RACK ?? '').trim(), FLAG_NAMING)
    const caCertFile = text(flags, 'ca-cert-file')
    const caCert = caCertFile ? readText(resolve(ctx.cwd, caCertFile), '--ca-cert-file').trim() : ''
    const insecure = flags.insecure === true
    checkTrust(caCert, insecure, FLAG_NAMING)
    const configDir = parseConfigDir(
      text(flags, 'config-dir'),
      { home: ctx.home, workspace: ctx.ci.workspace, suggestion: ctx.ci.tempSuggestion },
      FLAG_NAMING
    )
    const stateFile = text(flags, 'state-file')
    const dotenvFile = text(flags, 'dotenv-file')
    if (dotenvFile) checkWritableDir(resolve(ctx.cwd, dotenvFile), '--dotenv-file')
    const validate = flags['no-validate'] !== true
    const mint = parseMintToken(text(flags, 'mint-token'), text(flags, 'mint-token-hours'), FLAG_NAMING)
    // The keyroll's own store flags share the place flags (--github-repo...): only login has a token store.
    const tokens = command === 'login' ? tokenStoreSettings(flags, ctx) : {}
    const revokeTokens = command === 'login' && flags['revoke-tokens'] === true
    const timeoutMs = parseKeyrollTimeout(text(flags, 'timeout'), FLAG_NAMING)
    checkMintCombination(
      {
        mint,
        validate,
        keyroll: command === 'keyroll',
        storeOrRevoke: tokens.store !== undefined || revokeTokens,
        revoke: revokeTokens,
        store: tokens.store !== undefined,
        tokenLogin: credential.kind === 'token',
        timeoutMs
      },
      FLAG_NAMING
    )
    return {
      host,
      password,
      user: credential.user,
      actor: resolveActor({
        input: text(flags, 'actor'),
        jobActor: ctx.env.CONVOX_ACTOR,
        run: ciRun(ctx.ci, ctx.env)
      }),
      rack,
      validate,
      configDir,
      caCert,
      insecure,
      retryForMs: parseRetryFor(text(flags, 'retry-for'), FLAG_NAMING),
      target: target(flags, ctx),
      dotenvFile: dotenvFile ? resolve(ctx.cwd, dotenvFile) : undefined,
      stateFile: stateFile ? resolve(ctx.cwd, stateFile) : defaultStateFile(configDir, ctx.env, ctx.home),
      mint,
      tokenStore: tokens.store,
      tokenFile: tokens.file,
      revoke: revokeTokens ? { timeoutMs, stored: storedValue(tokens, ctx) } : undefined
    }
  })
}

/**
 * What the token store holds now, a rerun's evidence: a GitLab CI/CD variable is in the job's
 * environment, a GitHub secret when the workflow maps it there under its own name, a file is read.
 */
function storedValue(
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
function tokenStoreSettings(flags: Flags, ctx: Context): { store?: StoreSettings; file?: string } {
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

export function keyrollSettings(flags: Flags, ctx: Context): KeyrollSettings {
  const login = loginSettings(flags, ctx, 'keyroll')
  return usage('keyroll', () => {
    if (!login.validate) {
      throw new InputError(
        'keyroll needs the API, but --no-validate is given: remove --no-validate to roll the key.'
      )
    }
    const nextFlag = text(flags, 'next-password-file')
    const nextPasswordFile = nextFlag ? resolve(ctx.cwd, nextFlag) : undefined
    const store = storeSettings(flags, ctx, nextPasswordFile)
    let passwordNext: string | undefined
    if (nextPasswordFile) {
      if (store.kind === 'file') checkWritableDir(nextPasswordFile, '--next-password-file')
      // A missing or empty file is no pending key: the last roll finished, or there was none.
      const raw = existsSync(nextPasswordFile) ? readText(nextPasswordFile, '--next-password-file') : ''
      passwordNext =
        cleanKey(raw, 'password-next', FLAG_NAMING, 'the file must hold one key on one line').trim() ||
        undefined
    }
    return {
      ...login,
      timeoutMs: parseKeyrollTimeout(text(flags, 'timeout'), FLAG_NAMING),
      passwordNext,
      nextPasswordFile,
      store
    }
  })
}

function storeSettings(flags: Flags, ctx: Context, nextPasswordFile: string | undefined): StoreSettings {
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
function secretStoreSettings(
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

export function logoutSettings(flags: Flags, ctx: Context): LogoutSettings {
  return usage('logout', () => {
    const configDir = parseConfigDir(
      text(flags, 'config-dir') || (ctx.env.CONVOX_CONFIG ?? '').trim(),
      { home: ctx.home, suggestion: ctx.ci.tempSuggestion },
      FLAG_NAMING
    )
    const stateFile = text(flags, 'state-file')
    return {
      configDir,
      stateFile: stateFile ? resolve(ctx.cwd, stateFile) : defaultStateFile(configDir, ctx.env, ctx.home)
    }
  })
}

export function installSettings(flags: Flags, ctx: Context): InstallSettings {
  return usage('install-cli', () => {
    const version = text(flags, 'version')
    if (!version)
      throw new InputError(
        'install-cli needs --version: latest, a v3 version such as 3.24.9, or a v2 timestamp.'
      )
    checkCliVersion(version, FLAG_NAMING)
    const downloadUrl = text(flags, 'download-url')
    checkCliDownloadUrl(downloadUrl, version, FLAG_NAMING)
    const cacheDir = text(flags, 'cache-dir')
    const cacheRoot = ctx.env.XDG_CACHE_HOME || join(ctx.home, '.cache')
    return {
      version,
      downloadUrl: downloadUrl || undefined,
      cacheDir: cacheDir ? resolve(ctx.cwd, cacheDir) : join(cacheRoot, 'convox-login'),
      target: target(flags, ctx)
    }
  })
}

/** Any refusal while reading the options is a usage error of this command. */
function usage<T>(command: Command, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (error instanceof UsageError) throw error
    if (error instanceof InputError) throw new UsageError(error.message, command)
    throw error
  }
}

function readKey(flags: Flags, ctx: Context): string {
  const file = text(flags, 'password-file')
  if (flags['password-stdin'] === true && file) {
    throw new InputError(
      'Both --password-stdin and --password-file are given: read the key from one of them.'
    )
  }
  const [raw, source] =
    flags['password-stdin'] === true
      ? [ctx.readStdin(), 'standard input (--password-stdin)']
      : file
        ? [readText(resolve(ctx.cwd, file), '--password-file'), `--password-file ${file}`]
        : [ctx.env.CONVOX_PASSWORD ?? '', 'CONVOX_PASSWORD']
  if (raw.trim() === '') {
    throw new InputError(
      source === 'CONVOX_PASSWORD'
        ? 'No key: set CONVOX_PASSWORD (from a masked secret of your CI), or pass --password-stdin or --password-file F.'
        : `No key: ${source} is empty.`
    )
  }
  return cleanKey(raw, 'password', FLAG_NAMING, 'give the key on one line')
}

function readText(file: string, flag: string): string {
  try {
    const stat = lstatSync(file)
    if (!stat.isFile() && !stat.isFIFO() && !stat.isCharacterDevice() && !stat.isSymbolicLink()) {
      throw new InputError(`${flag} ${file} is not a file.`)
    }
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (error instanceof InputError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new InputError(
      `${flag} ${file} cannot be read (${code ?? (error as Error).message}): check the path.`
    )
  }
}

/** A file this command will write: its directory must exist, and it must not be a link or a directory. */
function checkWritableDir(file: string, flag: string): void {
  const dir = dirname(file)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`${flag} ${file}: the directory ${dir} does not exist; create it first.`)
  }
  const stat = lstatSync(file, { throwIfNoEntry: false })
  if (stat && !stat.isFile()) {
    throw new InputError(
      `${flag} ${file} exists and is not a regular file: remove it or choose another path.`
    )
  }
}

function target(flags: Flags, ctx: Context): Target {
  const raw = text(flags, 'format') || 'auto'
  if (!(FORMATS as readonly string[]).includes(raw)) {
    throw new InputError(`--format "${raw}" is not a format: use ${FORMATS.join(', ')}.`)
  }
  const format = raw as Format
  const { ci, env } = ctx
  if (format === 'github' && !env.GITHUB_ENV) {
    throw new InputError(
      '--format github needs GITHUB_ENV, which only a GitHub Actions step has: use --format sh here.'
    )
  }
  if (ci.name === 'github' && format !== 'auto' && format !== 'github' && format !== 'none') {
    throw new InputError(
      `--format ${format} on GitHub Actions would mix the runner's masking commands into what you read from stdout: ` +
        'use --format github (the default here), or the convox-login action itself.'
    )
  }
  if (format !== 'auto') return format
  switch (ci.name) {
    case 'github':
      return 'github'
    case 'azure':
      return 'azure'
    case 'circleci':
      if (!env.BASH_ENV) {
        throw new InputError(
          'BASH_ENV is not set, so later CircleCI steps cannot get the login: pass --format sh and eval it.'
        )
      }
      return 'bash-env'
    default:
      return 'sh'
  }
}
