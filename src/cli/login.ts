import type { Frontend, Handover } from '../core/flow.ts'
import { runFlow } from '../core/flow.ts'
import { realClock } from '../core/clock.ts'
import { newJournal } from '../core/settings/journal.ts'
import type { SecretStore } from '../core/stores/store.ts'
import { flowLogin, loginWarnings } from '../core/resolve.ts'
import { maskingNote } from './ci.ts'
import type { Sink } from './handover.ts'
import { handOver, writeDotenvReport } from './handover.ts'
import type { CliLog } from './log.ts'
import { cliLog } from './log.ts'
import type { Context, LoginSettings } from './options.ts'
import { namingOf } from './options.ts'
import { LoginRecord } from './state-file.ts'
import type { KeyrollSettings } from './stores.ts'
import { makeStore } from './stores.ts'
import { failure, masking, stderr, stdout } from './streams.ts'
import { loginTerminalNote } from './terminal.ts'

/**
 * `convox-login login` and `keyroll`: the core's flow (core/flow.ts) with the command's handover,
 * and the undo record that `logout` reads.
 */

export async function login(
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
  let sshKeyStore: SecretStore | undefined
  let tokenStore: SecretStore | undefined
  try {
    record = new LoginRecord(settings.stateFile)
    store = keyroll?.store && makeStore(keyroll.store, keyroll.nextPasswordFile, log, ctx)
    sshKeyStore = keyroll?.sshKeyStore && makeStore(keyroll.sshKeyStore, undefined, log, ctx)
    tokenStore = settings.tokenStore && makeStore(settings.tokenStore, settings.tokenFile, log, ctx)
  } catch (error) {
    return failure(error, log)
  }
  const note = maskingNote(ci, settings.target === 'azure')
  if (note) log.info(note)
  const naming = namingOf(ctx)
  for (const warning of loginWarnings(settings, naming)) log.warning(warning)

  let last: Handover | undefined
  const frontend: Frontend = {
    log,
    naming,
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
        login: flowLogin(settings, settings.actor.value, env),
        keyroll: keyroll?.rollPassword
          ? {
              timeoutMs: keyroll.keyrollTimeoutMs,
              passwordNext: keyroll.passwordNext || undefined,
              store,
              needsStore: true
            }
          : undefined,
        mint: settings.mint && { ...settings.mint, store: tokenStore, revoke: settings.revoke },
        instancesKeyroll: keyroll?.instances
          ? { timeoutMs: keyroll.keyrollTimeoutMs, sshKeyStore }
          : undefined,
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
    if (keyroll?.store?.kind === 'file' && result.keyroll) {
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
    if (keyroll?.store?.kind === 'file' && last?.outputs.password) {
      log.info(
        `The new key may be in use already and is in ${keyroll.nextPasswordFile}: run again with --next-password-file ` +
          `${keyroll.nextPasswordFile} to finish, and keep that file until then.`
      )
    }
  }
  if (last) {
    publishLast(sink, settings, last, log)
    if (settings.target === 'terminal')
      log.info(loginTerminalNote(keyroll ? 'keyroll' : 'login', Object.keys(last.env)))
    // The names a shell took, for logout to unset (never the values).
    if (['sh', 'fish', 'pwsh'].includes(settings.target)) {
      try {
        record.save(journal, Object.keys(last.env))
      } catch (error) {
        code = failure(error, log)
      }
    }
  }
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
