import { readFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { installCli } from '../core/cli-install/install.ts'
import { realClock } from '../core/clock.ts'
import { ConvoxError, InputError } from '../core/errors.ts'
import type { Frontend, Handover } from '../core/flow.ts'
import { runFlow } from '../core/flow.ts'
import { GitHubSecretStore } from '../core/stores/github.ts'
import { GitLabVariableStore } from '../core/stores/gitlab.ts'
import { KeyFileStore } from '../core/stores/key-file.ts'
import type { SecretStore } from '../core/stores/store.ts'
import { redact } from '../core/secrets.ts'
import { actionsExecRunner } from '../toolkit/exec.ts'
import { toolCacheDownloader } from '../toolkit/tool-cache.ts'
import { newJournal } from '../core/settings/journal.ts'
import { undoSettings } from '../core/settings/settings.ts'
import type { Command, Flags } from './args.ts'
import { FLAG_NAMING, helpText, parseArgs, usageLine, UsageError } from './args.ts'
import type { Ci } from './ci.ts'
import { buildkiteRedact, detectCi, maskingNote } from './ci.ts'
import type { EvalShell } from './formats.ts'
import { failLine } from './formats.ts'
import type { RunnerCommands, Sink } from './handover.ts'
import { handOver, handOverPath, writeDotenvReport } from './handover.ts'
import type { CliLog } from './log.ts'
import { cliLog } from './log.ts'
import type { Context, KeyrollSettings, LoginSettings, Target } from './options.ts'
import { installSettings, keyrollSettings, loginSettings, logoutSettings } from './options.ts'
import { LoginRecord, readLogins, writeLogins } from './state-file.ts'

/**
 * convox-login, the command: the same login, keyroll, CLI install and cleanup as the action, for
 * any CI or a terminal, over the same core (core/flow.ts). Messages go to stderr; stdout carries
 * only what --format asks for. Exit status: 0 done, 1 the work failed, 2 the command line is wrong.
 */

declare const CONVOX_LOGIN_VERSION: string

type Env = NodeJS.ProcessEnv

const stderr = (text: string) => void process.stderr.write(text)
const stdout = (text: string) => void process.stdout.write(text)

export async function main(argv: readonly string[], env: Env): Promise<number> {
  const ci = detectCi(env)
  const ctx: Context = {
    env,
    home: homedir(),
    cwd: process.cwd(),
    ci,
    readStdin: () => {
      try {
        return readFileSync(0, 'utf8')
      } catch (error) {
        throw new InputError(
          `--password-stdin: standard input cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): pipe the key in.`
        )
      }
    }
  }
  let command: Command | undefined
  let flags: Flags = {}
  let code: number
  try {
    const invocation = parseArgs(argv)
    if (invocation.command === 'help') {
      stdout(`${helpText(invocation.topic)}\n`)
      return 0
    }
    if (invocation.command === 'version') {
      stdout(`convox-login ${CONVOX_LOGIN_VERSION}\n`)
      return 0
    }
    command = invocation.command
    flags = invocation.flags
    code = await run(command, flags, ctx)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    stderr(`convox-login: ${error.message}\n${usageLine(error.command ?? command)}\n`)
    code = 2
  }
  // eval "$(convox-login login)" succeeds on empty text: a statement that fails stops the script.
  const shell = command === 'logout' ? undefined : evalShell(flags.format, ci)
  if (code !== 0 && shell) stdout(failLine(shell))
  return code
}

function run(command: Command, flags: Flags, ctx: Context): Promise<number> | number {
  switch (command) {
    case 'login':
      return login(loginSettings(flags, ctx), undefined, ctx)
    case 'keyroll': {
      const settings = keyrollSettings(flags, ctx)
      return login(settings, settings, ctx)
    }
    case 'logout':
      return logout(logoutSettings(flags, ctx))
    case 'install-cli':
      return install(installSettings(flags, ctx), ctx)
  }
}

/** The shell whose code stdout holds, for the formats a user evals; undefined for the others. */
function evalShell(format: string | boolean | undefined, ci: Ci): EvalShell | undefined {
  const name = typeof format === 'string' ? format.trim() || 'auto' : 'auto'
  if (name === 'sh' || name === 'fish' || name === 'pwsh') return name
  return name === 'auto' && ['other', 'gitlab', 'buildkite'].includes(ci.name) ? 'sh' : undefined
}

/** The masking a CI offers, for the log to call as each secret appears. */
async function masking(ci: Ci, target: Target, env: Env) {
  const runner = target === 'github' || ci.name === 'github' ? await import('@actions/core') : undefined
  let agentMissing = false
  return {
    runner: runner satisfies RunnerCommands | undefined,
    mask: (forms: string[]) => {
      if (runner) for (const form of forms) runner.setSecret(form)
      if (ci.name === 'buildkite' && !agentMissing && !buildkiteRedact(forms, env)) {
        agentMissing = true
        stderr('buildkite-agent is not on PATH, so the key is not added to the redactor of this job.\n')
      }
    }
  }
}

async function login(
  settings: LoginSettings,
  keyroll: KeyrollSettings | undefined,
  ctx: Context
): Promise<number> {
  const { ci, env } = ctx
  const { runner, mask } = await masking(ci, settings.target, env)
  const log = cliLog(stderr, mask)
  log.secret(settings.password)
  if (keyroll?.passwordNext) log.secret(keyroll.passwordNext)
  if (settings.revoke?.stored) log.secret(settings.revoke.stored.value)
  const sink: Sink = { target: settings.target, stdout, env, runner }

  let record: LoginRecord
  let store: SecretStore | undefined
  let tokenStore: SecretStore | undefined
  try {
    record = new LoginRecord(settings.stateFile)
    store = keyroll && makeStore(keyroll.store, keyroll.nextPasswordFile, log, env)
    tokenStore = settings.tokenStore && makeStore(settings.tokenStore, settings.tokenFile, log, env)
  } catch (error) {
    return failure(error, log)
  }
  const note = maskingNote(ci, settings.target === 'azure')
  if (note) log.info(note)
  if (settings.insecure) {
    log.warning(
      `--insecure is given: the TLS certificate of ${settings.host} is not verified, so a machine in the middle could read the key.`
    )
  }

  let last: Handover | undefined
  const frontend: Frontend = {
    log,
    naming: FLAG_NAMING,
    // The later call supersedes the earlier; one with no variables only adds outputs (a keyroll's pending key).
    publish: handover => {
      if (last && Object.keys(handover.env).length === 0) Object.assign(last.outputs, handover.outputs)
      else last = handover
    },
    saveJournal: journal => record.save(journal),
    addPath: () => undefined
  }
  const journal = newJournal(settings.configDir)
  let code = 0
  try {
    const result = await runFlow(
      {
        login: {
          host: settings.host,
          password: settings.password,
          user: settings.user,
          actor: settings.actor.value,
          rack: settings.rack,
          validate: settings.validate,
          configDir: settings.configDir,
          connection: { caCert: settings.caCert || undefined, insecure: settings.insecure, proxyEnv: env },
          retryForMs: settings.retryForMs
        },
        keyroll: keyroll && { timeoutMs: keyroll.timeoutMs, passwordNext: keyroll.passwordNext, store },
        mint: settings.mint && { ...settings.mint, store: tokenStore, revoke: settings.revoke },
        exportEnv: true,
        exportActor: settings.actor.export,
        env,
        journal,
        clock: realClock
      },
      frontend
    )
    // The core saves the journal before each change; a login that changed nothing is recorded
    // here, so that each logout undoes exactly one login.
    record.save(journal)
    if (keyroll?.store.kind === 'file') {
      log.warning(
        `The rack now uses the new key, which is only in ${keyroll.nextPasswordFile}: store it where your CI keeps the key ` +
          '(CONVOX_PASSWORD) now, then delete the file.'
      )
    }
    log.info(
      `Logged in to ${result.login.host}${result.login.rack ? ` (rack ${result.login.rack})` : ''}; undo with convox-login logout.`
    )
  } catch (error) {
    code = failure(error, log)
    if (keyroll?.store.kind === 'file' && last?.outputs.password) {
      log.info(
        `The new key may be in use already and is in ${keyroll.nextPasswordFile}: run again with --next-password-file ` +
          `${keyroll.nextPasswordFile} to finish, and keep that file until then.`
      )
    }
  }
  if (last) publishLast(sink, settings, last, log)
  return code
}

function publishLast(sink: Sink, settings: LoginSettings, handover: Handover, log: CliLog): void {
  handOver(sink, handover)
  if (sink.target === 'azure') {
    log.info(
      'Azure Pipelines does not put secret variables into the environment of later steps: map them in each step that runs ' +
        'convox, with env: CONVOX_PASSWORD: $(CONVOX_PASSWORD)' +
        (handover.env.RACK_URL ? ' and RACK_URL: $(RACK_URL).' : '.')
    )
  }
  if (settings.dotenvFile) {
    writeDotenvReport(settings.dotenvFile, handover)
    log.info(
      `Wrote ${settings.dotenvFile} without CONVOX_PASSWORD and RACK_URL: a dotenv report is kept with the job's artifacts. ` +
        'Log in again in each job that runs convox.'
    )
  }
}

function makeStore(
  store: KeyrollSettings['store'],
  file: string | undefined,
  log: CliLog,
  env: Env
): SecretStore {
  const common = { clock: realClock, log, retryForMs: undefined, proxyEnv: env }
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
    return new KeyFileStore(file!)
  } catch (error) {
    if (error instanceof ConvoxError) throw new UsageError(error.message)
    throw error
  }
}

/** Undoes the last login recorded for the settings directory, as the action's post step does. */
function logout(settings: { configDir: string; stateFile: string }): number {
  const log = cliLog(stderr)
  let logins
  try {
    logins = readLogins(settings.stateFile)
  } catch (error) {
    log.warning(`Could not undo the Convox login: ${(error as Error).message}`)
    return 0
  }
  const journal = logins.pop()
  if (!journal) {
    log.info(`Nothing to undo: no login is recorded in ${settings.stateFile} for ${settings.configDir}.`)
    return 0
  }
  try {
    if (journal.entries.length === 0 && journal.createdDirs.length === 0) {
      log.info(`The last login changed nothing in ${journal.dir}: nothing to undo.`)
    } else {
      undoSettings(journal, log)
      log.info(`Restored the Convox settings in ${journal.dir} to what they were before the login.`)
    }
  } catch (error) {
    log.warning(`Could not undo the Convox login: ${(error as Error).message}`)
  }
  try {
    writeLogins(settings.stateFile, logins)
  } catch (error) {
    // It holds the previous settings, other hosts' keys among them.
    log.warning(`Could not update the undo record ${settings.stateFile}: ${(error as Error).message}`)
  }
  return 0
}

async function install(
  settings: { version: string; downloadUrl?: string; cacheDir: string; target: Target },
  ctx: Context
): Promise<number> {
  const log = cliLog(stderr)
  const { runner } = await masking(ctx.ci, settings.target, ctx.env)
  try {
    const cli = await keepingStdout(ctx.ci, () =>
      installCli({
        version: settings.version,
        downloadUrl: settings.downloadUrl,
        platform: process.platform,
        arch: process.arch,
        // The tool cache's layout, one directory per version, under --cache-dir.
        toolCacheDir: settings.cacheDir,
        tempDir: tmpdir(),
        downloader: toolCacheDownloader,
        programs: actionsExecRunner,
        environment: ctx.env,
        log,
        clock: realClock,
        proxyEnv: ctx.env
      })
    )
    handOverPath({ target: settings.target, stdout, env: ctx.env, runner }, cli.dir, {
      'cli-version': cli.version,
      'cli-path': cli.path
    })
    return 0
  } catch (error) {
    return failure(error, log)
  }
}

/**
 * tool-cache, which downloads on a cache miss, logs through its own copy of @actions/core: runner
 * commands on stdout, where the handover goes. Off a GitHub runner they mean nothing, so while it
 * runs its debug lines are dropped and anything else it writes goes to stderr.
 */
async function keepingStdout<T>(ci: Ci, fn: () => Promise<T>): Promise<T> {
  if (ci.name === 'github') return fn()
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk)
    if (!text.startsWith('::debug::')) process.stderr.write(text)
    const done = rest.find(arg => typeof arg === 'function') as (() => void) | undefined
    done?.()
    return true
  }) as typeof process.stdout.write
  try {
    return await fn()
  } finally {
    process.stdout.write = write
  }
}

/** Exit status 1, with the sentence the action would fail with; a bug says so. */
function failure(error: unknown, log: CliLog): number {
  if (error instanceof UsageError) throw error
  const text =
    error instanceof ConvoxError
      ? error.message
      : `Unexpected error in convox-login (please report it): ${String((error as Error)?.stack ?? error)}`
  stderr(`convox-login: ${redact(text, log.forms)}\n`)
  return 1
}

void main(process.argv.slice(2), process.env).then(exit, (error: unknown) => {
  stderr(
    `convox-login: Unexpected error in convox-login (please report it): ${String((error as Error)?.stack ?? error)}\n`
  )
  exit(1)
})

/** Exits once stdout has drained: on a pipe it is asynchronous, and the handover must arrive whole. */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code))
}
