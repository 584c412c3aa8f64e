import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import type { SecretStore } from '../stores/store.ts'
import { redact, secretForms } from '../secrets.ts'
import type { Context, KeyrollApi } from './context.ts'
import { sleepUntilNextPoll } from './context.ts'
import { generateRackPassword, RACK_PASSWORD_LENGTH } from './key.ts'
import { refuseUnsupported, waitUntilRunning } from './preflight.ts'
import { probe } from './probe.ts'
import { recover } from './recover.ts'
import { roll } from './roll.ts'
import { dropNext, makeCurrent } from './store.ts'
import type { KeyrollTiming } from './timing.ts'
import { DEFAULT_KEYROLL_TIMING, pollDelay } from './timing.ts'

// What callers and tests import, from one place.
export type { KeyrollApi } from './context.ts'
export { generateRackPassword } from './key.ts'
export { KeyrollError } from './messages.ts'
export type { KeyrollTiming } from './timing.ts'
export { DEFAULT_KEYROLL_TIMING, maxPollDelay, pollDelay } from './timing.ts'

/**
 * Rolling a v2 Rack's API key (../../docs/keyroll.md). The rule that shapes everything here: at
 * every moment, some stored key opens the rack. So the new key is stored as NEXT before the rack
 * hears of it, only one key is ever in flight, and NEXT is dropped only once the rack is known to
 * use the new key (or known never to have started using it).
 *
 * runKeyroll below is the whole flow, one step a module in keyroll/:
 *   preflight.ts  refuse a Console or v3 rack; wait until the rack is `running`
 *   recover.ts    with password-next: what became of the earlier roll
 *   roll.ts       a new roll: NEXT, the PUT, the wait
 *   watch.ts      the polling that watches a roll until it is live, did not start, or times out
 *   finish (here) the old key checked once more, the new key made current
 *
 * Where a request is made: only probe.ts (each GET /system or /auth, one attempt) and put.ts (the
 * PUT /system). Where the store is written: only store.ts. Where a retry is decided: timing.ts
 * says how long until the next poll (pollDelay); the loops that poll again are in preflight.ts,
 * watch.ts and oldKeyRefused here; roll.ts alone decides to send the PUT again. Every refusal
 * and failure a person reads is in messages.ts; context.ts is what the steps share; key.ts makes
 * the key.
 */

export interface KeyrollOptions {
  /** Authenticated with `password`. */
  api: KeyrollApi
  kind: 'rack' | 'console'
  /** From validation when known (`''` if not); the rack's GET /system is checked as well. */
  rackVersion?: string
  password: string
  /** The key an earlier keyroll stored as NEXT and may have sent. */
  passwordNext?: string
  /** Without one, the new key lives only in the result (and the error's `pendingPassword`). */
  store?: SecretStore
  /** Bounds each wait: for the rack to be ready before the roll, and for the new key after it. */
  timeoutMs: number
  /**
   * When the wait before the roll began, if earlier than this call: with `passwordNext` the
   * adapter's login may already have waited through the rack's window. The wait for an earlier
   * roll and for `running` then ends `timeoutMs` after it, so that wait is bounded once. Default: now.
   */
  startedAt?: number
  clock: Clock
  log: Log
  /** How the front end names its options, for every sentence the keyroll says. */
  naming: Naming
  generateKey?: () => string
  timing?: Partial<KeyrollTiming>
}

export interface KeyrollResult {
  /** The key the rack now uses. */
  password: string
  seconds: number
  /** False when the rack still accepts the old key (or that could not be checked). */
  oldKeyRevoked: boolean
  /** True when this run finished an earlier keyroll instead of starting one. */
  resumed: boolean
  requests: number
  polls: number
}

export async function runKeyroll(options: KeyrollOptions): Promise<KeyrollResult> {
  const { log, naming, password, passwordNext, store } = options
  // Masked before anything else can happen, so no line printed later can show it.
  const newKey = (options.generateKey ?? generateRackPassword)()
  log.secret(newKey)
  log.secret(password)
  if (passwordNext) log.secret(passwordNext)
  if (newKey.length < 1 || newKey.length > RACK_PASSWORD_LENGTH) {
    throw new Error(`generateKey returned ${newKey.length} characters; a Rack password has 1 to 50`)
  }
  refuseUnsupported(options.kind, options.rackVersion ?? '')

  const keys = [password, newKey, passwordNext ?? ''].filter(Boolean)
  const forms = keys.flatMap(key => secretForms(key))
  const ctx: Context = {
    api: options.api,
    clock: options.clock,
    log,
    naming,
    store,
    timing: { ...DEFAULT_KEYROLL_TIMING, ...options.timing },
    timeoutMs: options.timeoutMs,
    startedAt: Math.min(options.startedAt ?? Infinity, options.clock.now()),
    requests: 0,
    polls: 0,
    forms,
    scrub: text => redact(text, forms)
  }
  const deadline = ctx.startedAt + options.timeoutMs

  if (passwordNext && passwordNext !== password) {
    if (await recover(ctx, passwordNext, deadline)) return finish(ctx, passwordNext, true)
  } else if (passwordNext) {
    log.info(
      `${naming.ref('password-next')} is the same key as ${naming.ref('password')}: the earlier keyroll finished but for removing NEXT; removing it now.`
    )
    await dropNext(ctx)
  }
  await waitUntilRunning(ctx, deadline)
  await roll(ctx, newKey)
  return finish(ctx, newKey, false)
}

/** The rack uses `newKey`: note whether the old key still works, then make the new one current. */
async function finish(ctx: Context, newKey: string, resumed: boolean): Promise<KeyrollResult> {
  const { log, store } = ctx
  const oldKeyRevoked = await oldKeyRefused(ctx)
  if (store) await makeCurrent(ctx, store, newKey)
  const ms = ctx.clock.now() - ctx.startedAt
  log.info(
    `Keyroll ${resumed ? 'finished (resumed)' : 'done'} in ${formatDuration(ms)}: the rack uses the new key` +
      `${store ? `, saved in ${store.describe('current')}` : ''}.`
  )
  return {
    password: newKey,
    seconds: Math.round(ms / 1000),
    oldKeyRevoked,
    resumed,
    requests: ctx.requests,
    polls: ctx.polls
  }
}

/** Some racks keep accepting the old key until their API restarts: say so rather than promise it is dead. */
async function oldKeyRefused(ctx: Context): Promise<boolean> {
  const { clock, log, timing } = ctx
  for (let attempt = 1; attempt <= 3; attempt++) {
    const start = clock.now()
    const result = await probe(ctx, ctx.api, '/auth')
    if (result.kind === 'rejected') return true
    if (result.kind === 'accepted') {
      log.warning(
        'The rack still accepts the old key: some racks keep it until their API restarts. Treat it as live until then.'
      )
      return false
    }
    if (attempt < 3) {
      await sleepUntilNextPoll(ctx, start, pollDelay('failed', attempt, timing, clock.random()), Infinity)
    }
  }
  log.warning(
    'Could not tell whether the rack still accepts the old key; treat it as live until the rack restarts its API.'
  )
  return false
}
