import { join, resolve } from 'node:path'
import type { Actor } from '../core/actor.ts'
import { resolveActor } from '../core/actor.ts'
import { InputError } from '../core/errors.ts'
import type { Naming } from '../core/naming.ts'
import { checkCliDownloadUrl, checkCliVersion, cleanKey, parseConfigDir } from '../core/options.ts'
import type { LoginValues, ResolvedLogin } from '../core/resolve.ts'
import { resolveLogin } from '../core/resolve.ts'
import type { Command, Flags, Format } from './args.ts'
import { flagNaming, FORMATS, UsageError } from './args.ts'
import type { Ci } from './ci.ts'
import { ciRun } from './ci.ts'
import { checkWritableDir, readText } from './flag-files.ts'
import { defaultStateFile } from './state-file.ts'
import type { EvalShell } from './formats.ts'
import { onTerminal } from './terminal.ts'
import type { MintSettings } from '../core/tokens/options.ts'
import { checkMintCombination, parseMintToken } from '../core/tokens/options.ts'
import type { StoreSettings } from './stores.ts'
import { storedValue, tokenStoreSettings } from './stores.ts'

/**
 * From flags and environment to what each command runs with, by the action's rules
 * (core/options.ts). Everything is read and checked here, before anything is sent or written;
 * every refusal is a UsageError (exit 2). The keyroll's own flags and its store are in stores.ts.
 */

type Env = Readonly<Record<string, string | undefined>>

export interface Context {
  env: Env
  home: string
  cwd: string
  ci: Ci
  /** stdout is a terminal: a login prints no key there unless --format asks (terminal.ts). */
  stdoutIsTerminal: boolean
  /** Standard input, read whole: only asked for with --password-stdin. */
  readStdin(): string
  /** Every secret read so far (keys, tokens), for the process to redact from an error that escapes. */
  secrets: string[]
}

/** Where a handover goes: a --format, with `auto` decided, CircleCI's BASH_ENV, or a terminal (nowhere). */
export type Target = Exclude<Format, 'auto'> | 'bash-env' | 'terminal'

/** A login's options, checked by the core's rules (core/resolve.ts), and what only the command has. */
export interface LoginSettings extends ResolvedLogin {
  actor: Actor
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

/** The keyroll's part of the options, for `keyroll` (stores.ts). */
export type KeyrollValues = Pick<LoginValues, 'keyrollTimeout' | 'githubSecret'>

export interface LogoutSettings {
  configDir: string
  stateFile: string
  /** The shell the unset lines are printed for; `terminal` or `none` prints none. */
  shell: EvalShell | 'terminal' | 'none'
}

export interface InstallSettings {
  version: string
  downloadUrl?: string
  cacheDir: string
  target: Target
}

/** A flag's value, trimmed; `''` when not given or a switch. */
export const text = (flags: Flags, name: string): string => {
  const value = flags[name]
  return typeof value === 'string' ? value.trim() : ''
}

/** The command's naming: its flags, and a settings directory the CI it runs in can name. */
export const namingOf = (ctx: Context): Naming => flagNaming(ctx.ci.tempSuggestion)

export function loginSettings(flags: Flags, ctx: Context, keyroll?: KeyrollValues): LoginSettings {
  return usage(keyroll ? 'keyroll' : 'login', () => {
    const naming = namingOf(ctx)
    const password = readKey(flags, ctx, naming)
    const caCertFile = text(flags, 'ca-cert-file')
    const login = resolveLogin(
      {
        host: text(flags, 'host') || (ctx.env.CONVOX_HOST ?? '').trim(),
        password,
        rack: text(flags, 'rack') || (ctx.env.CONVOX_RACK ?? '').trim(),
        validate: flags['no-validate'] !== true,
        configDir: text(flags, 'config-dir'),
        caCert: caCertFile ? readText(resolve(ctx.cwd, caCertFile), '--ca-cert-file').trim() : '',
        insecure: flags.insecure === true,
        retryFor: text(flags, 'retry-for'),
        keyroll: keyroll !== undefined,
        // login's --timeout bounds a token revocation's restart, keyroll's the roll.
        keyrollTimeout: keyroll?.keyrollTimeout ?? text(flags, 'timeout'),
        passwordNext: '',
        githubSecret: keyroll?.githubSecret
      },
      { home: ctx.home, workspace: ctx.ci.workspace },
      naming
    )
    const mint = parseMintToken(text(flags, 'mint-token'), text(flags, 'mint-token-hours'), naming)
    // The keyroll's own store flags share the place flags (--github-repo...): only login has a token store.
    const tokens = keyroll ? {} : tokenStoreSettings(flags, ctx)
    const revokeTokens = !keyroll && flags['revoke-tokens'] === true
    checkMintCombination(
      {
        mint,
        validate: login.validate,
        keyroll: keyroll !== undefined,
        storeOrRevoke: tokens.store !== undefined || revokeTokens,
        revoke: revokeTokens,
        store: tokens.store !== undefined,
        tokenLogin: login.credential.kind === 'token',
        timeoutMs: login.keyrollTimeoutMs
      },
      naming
    )
    const stateFile = text(flags, 'state-file')
    const dotenvFile = text(flags, 'dotenv-file')
    if (dotenvFile) checkWritableDir(resolve(ctx.cwd, dotenvFile), '--dotenv-file')
    return {
      ...login,
      actor: resolveActor({
        input: text(flags, 'actor'),
        jobActor: ctx.env.CONVOX_ACTOR,
        run: ciRun(ctx.ci, ctx.env)
      }),
      target: onTerminal(
        target(flags, ctx),
        !['', 'auto'].includes(text(flags, 'format')),
        ctx.stdoutIsTerminal
      ),
      dotenvFile: dotenvFile ? resolve(ctx.cwd, dotenvFile) : undefined,
      stateFile: stateFile
        ? resolve(ctx.cwd, stateFile)
        : defaultStateFile(login.configDir, ctx.env, ctx.home),
      mint,
      tokenStore: tokens.store,
      tokenFile: tokens.file,
      revoke: revokeTokens
        ? { timeoutMs: login.keyrollTimeoutMs, stored: storedValue(tokens, ctx) }
        : undefined
    }
  })
}

export function logoutSettings(flags: Flags, ctx: Context): LogoutSettings {
  return usage('logout', () => {
    const configDir = parseConfigDir(
      text(flags, 'config-dir') || (ctx.env.CONVOX_CONFIG ?? '').trim(),
      { home: ctx.home },
      namingOf(ctx)
    )
    const stateFile = text(flags, 'state-file')
    return {
      configDir,
      stateFile: stateFile ? resolve(ctx.cwd, stateFile) : defaultStateFile(configDir, ctx.env, ctx.home),
      shell: logoutShell(flags, ctx)
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
    checkCliVersion(version, namingOf(ctx))
    const downloadUrl = text(flags, 'download-url')
    checkCliDownloadUrl(downloadUrl, version, namingOf(ctx))
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
export function usage<T>(command: Command, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (error instanceof UsageError) throw error
    if (error instanceof InputError) throw new UsageError(error.message, command)
    throw error
  }
}

function readKey(flags: Flags, ctx: Context, naming: Naming): string {
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
  ctx.secrets.push(raw.trim())
  return cleanKey(raw, 'password', naming, 'give the key on one line')
}

/** The shell logout prints unset lines for: the one login printed export lines for. */
function logoutShell(flags: Flags, ctx: Context): LogoutSettings['shell'] {
  const format = text(flags, 'format') || 'auto'
  if (format === 'sh' || format === 'fish' || format === 'pwsh' || format === 'none') return format
  if (format !== 'auto')
    throw new InputError(`--format "${format}" is not a format of logout: use auto, sh, fish, pwsh or none.`)
  if (!['other', 'gitlab', 'buildkite'].includes(ctx.ci.name)) return 'none'
  return ctx.stdoutIsTerminal ? 'terminal' : 'sh'
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
