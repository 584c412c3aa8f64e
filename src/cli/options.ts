import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Actor } from '../core/actor.ts'
import { resolveActor } from '../core/actor.ts'
import type { BasicUser } from '../core/credential.ts'
import { recogniseCredential } from '../core/credential.ts'
import { InputError } from '../core/errors.ts'
import { normaliseHost, PUBLIC_CONSOLE_HOST } from '../core/host.ts'
import {
  checkCliDownloadUrl,
  checkCliVersion,
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
import { checkWritableDir, readText, text } from './flag-files.ts'
import type { StoreSettings } from './store-options.ts'
import { storeSettings, storedValue, tokenStoreSettings } from './store-options.ts'

export type { StoreSettings } from './store-options.ts'

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
