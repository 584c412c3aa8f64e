import { randomBytes } from 'node:crypto'
import type { ApiRequest, ApiResponse } from './api.ts'
import { NetworkError } from './api.ts'
import type { Clock } from './clock.ts'
import { formatDuration } from './clock.ts'
import { ConvoxError } from './errors.ts'
import type { Log } from './log.ts'
import type { Backoff } from './retry.ts'
import { describeNetworkError, fullJitterDelay, isTransientStatus, parseRetryAfter } from './retry.ts'
import type { SecretStore } from './secret-store.ts'
import { redact, secretForms } from './secrets.ts'
import { serverLine, serverText } from './server-text.ts'

/**
 * Rolling a v2 Rack's API key (../../docs/keyroll.md). The rule that shapes everything here: at
 * every moment, some stored key opens the rack. So the new key is stored as NEXT before the rack
 * hears of it, only one key is ever in flight, and NEXT is dropped only once the rack is known to
 * use the new key (or known never to have started using it).
 */

/** The part of ConvoxApi a keyroll uses; an interface so the schedule can run on a virtual clock. */
export interface KeyrollApi {
  readonly host: string
  send(request: ApiRequest): Promise<ApiResponse>
  withPassword(password: string): KeyrollApi
}

/**
 * When to poll. The defaults keep the delay between the rack taking the key and us noticing it
 * under 10 s: at worst a failed poll just before, so the next comes within `pollMs +
 * backoff.capMs` = 6.4 s, then a confirming check within `confirmMs + pollJitterMs` = 1.8 s. And
 * they keep the requests under 20 a minute, even in a window of only 5 s, where the wait is one
 * or two polls and the confirmation: one GET per poll (GET /system with the new key tells both
 * whether the key is accepted and the status), polls at least `pollMs` = 4.4 s apart and 4.8 s on
 * average, old-key probes only while it is unclear whether the roll started, or once a minute.
 */
export interface KeyrollTiming {
  /**
   * The first poll after the PUT (plus jitter). No rack applies a key in less, and polling later
   * than `pollMs` keeps even a 5 s window within 20 requests a minute: one poll after the key is
   * live and the confirmation, instead of a refused poll first.
   */
  firstPollMs: number
  /** Floor between the starts of two polls. */
  pollMs: number
  /** Uniform jitter on top of the floor after a poll that got an answer, so runners never march in step. */
  pollJitterMs: number
  /** After a failed poll (401, 5xx, 429, network): floor plus full-jitter backoff, capped. */
  backoff: Backoff
  /** Delay (plus jitter) before the second check once the rack says running and takes the new key. */
  confirmMs: number
  /** How often the old key is probed while the new key is refused and the roll is known to have started (rollbacks). */
  oldKeyProbeMs: number
  /** Per GET: /auth and /system are light, and a hung request must not stall the schedule. */
  requestTimeoutMs: number
  /** The PUT makes the rack call CloudFormation, which can be slow. */
  putTimeoutMs: number
  /** A progress line at least this often, and never one per poll. */
  progressMs: number
  /** Sends of the same key when the rack did not start the roll (lost answers, refused re-sends). */
  maxPuts: number
}

export const DEFAULT_KEYROLL_TIMING: KeyrollTiming = {
  firstPollMs: 5500,
  pollMs: 4400,
  pollJitterMs: 800,
  backoff: { baseMs: 1000, capMs: 2000 },
  confirmMs: 1000,
  oldKeyProbeMs: 60_000,
  requestTimeoutMs: 5000,
  putTimeoutMs: 30_000,
  progressMs: 30_000,
  maxPuts: 3
}

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

/** A keyroll that was refused or did not finish. Never carries a key in its message. */
export class KeyrollError extends ConvoxError {
  override name = 'KeyrollError'
  /**
   * The new key when the rack may already use it, so the adapter can still set the masked
   * `password` output; undefined when the rack is known to keep the old key.
   */
  readonly pendingPassword: string | undefined

  constructor(message: string, pendingPassword?: string) {
    super(message)
    this.pendingPassword = pendingPassword
  }
}

export const RACK_PASSWORD_LENGTH = 50
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** 248 = 4 × 62: bytes from it up are dropped, so every character is equally likely. */
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length)

/**
 * 50 letters and digits from the system's cryptographic source: the most a v2 Rack's Password
 * parameter takes, and characters that survive Basic auth, URL user-info and the double form
 * encoding of PUT /system unchanged.
 */
export function generateRackPassword(bytes: (size: number) => Uint8Array = randomBytes): string {
  let key = ''
  while (key.length < RACK_PASSWORD_LENGTH) {
    for (const byte of bytes(64)) {
      if (byte < UNBIASED_LIMIT && key.length < RACK_PASSWORD_LENGTH) key += ALPHABET[byte % ALPHABET.length]
    }
  }
  return key
}

export type PollResult = 'steady' | 'confirm' | 'failed'

/**
 * How long after the start of one poll the next starts. `failures` counts failed polls in a row
 * (1 for the first). Pure, so the bounds can be tested without a clock.
 */
export function pollDelay(
  result: PollResult,
  failures: number,
  timing: KeyrollTiming,
  random: number,
  retryAfterMs?: number
): number {
  const jitter = Math.floor(random * timing.pollJitterMs)
  if (result === 'confirm') return timing.confirmMs + jitter
  if (result === 'steady') return timing.pollMs + jitter
  const delay = timing.pollMs + fullJitterDelay(Math.max(0, failures - 1), timing.backoff, random)
  // A Retry-After is honoured only up to our own cap: a longer one would break the promise of noticing the key in time.
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, maxPollDelay(timing)))
}

/**
 * A person should see a line at least every `progressMs`: print now if waiting for the next poll
 * could take the gap past it. Lines come `progressMs - maxPollDelay` to `progressMs` apart.
 */
export function progressDue(sinceLastMs: number, timing: KeyrollTiming): boolean {
  return sinceLastMs + maxPollDelay(timing) >= timing.progressMs
}

export function maxPollDelay(timing: KeyrollTiming): number {
  return timing.pollMs + Math.max(timing.pollJitterMs, timing.backoff.capMs)
}

/** What one authenticated GET /system tells: whether the key is accepted and, if so, the status. */
type Probe =
  | { kind: 'accepted'; status: string; version: string }
  | { kind: 'rejected' }
  | { kind: 'failed'; reason: string; transient: boolean; retryAfterMs?: number }

interface Context {
  api: KeyrollApi
  clock: Clock
  log: Log
  store?: SecretStore
  timing: KeyrollTiming
  timeoutMs: number
  startedAt: number
  requests: number
  polls: number
  /** Every form of every key in play, removed from server text before it is quoted. */
  forms: readonly string[]
  scrub(text: string): string
}

export async function runKeyroll(options: KeyrollOptions): Promise<KeyrollResult> {
  const { log, password, passwordNext, store } = options
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
    const finished = await recover(ctx, passwordNext, deadline)
    if (finished) return finished
  } else if (passwordNext) {
    log.info(
      'password-next is the same key as password: the earlier keyroll finished but for removing NEXT; removing it now.'
    )
    await dropNext(ctx)
  }
  await waitUntilRunning(ctx, deadline)
  return roll(ctx, newKey)
}

function refuseUnsupported(kind: 'rack' | 'console', version: string): void {
  if (kind === 'console') {
    throw new KeyrollError(
      'keyroll refused: this host is a Console, and Console keeps each rack key itself: a key changed behind its ' +
        'back disconnects the rack from Console. Roll it with "Roll API key" in the Console web UI instead.'
    )
  }
  if (/^3\./.test(version)) {
    throw new KeyrollError(
      `keyroll refused: this is a v3 rack (version ${version}), whose password is a secret managed by the rack's ` +
        'Terraform, not a rack parameter, so PUT /system cannot change it. Rotate it through the Terraform that ' +
        'installed the rack (or reinstall it), then store the new key in the secret.'
    )
  }
}

async function probe(ctx: Context, api: KeyrollApi, path: '/system' | '/auth' = '/system'): Promise<Probe> {
  ctx.requests++
  let response: ApiResponse
  try {
    response = await api.send({ method: 'GET', path, timeoutMs: ctx.timing.requestTimeoutMs })
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { kind: 'failed', reason: describeNetworkError(error), transient: error.transient }
  }
  if (response.status === 401) return { kind: 'rejected' }
  if (response.status >= 200 && response.status < 300) {
    if (path === '/auth') return { kind: 'accepted', status: '', version: '' }
    const system = parseSystem(response.body)
    if (!system) {
      return {
        kind: 'failed',
        reason: 'GET /system answered with something other than rack JSON',
        transient: true
      }
    }
    return {
      kind: 'accepted',
      status: serverText(system.status, ctx.forms, 40),
      version: serverText(system.version, ctx.forms, 40)
    }
  }
  return {
    kind: 'failed',
    reason: describeAnswer(ctx, response),
    transient: isTransientStatus(response.status),
    retryAfterMs: parseRetryAfter(response.headers['retry-after'], ctx.clock.now())
  }
}

function parseSystem(body: string): { status: string; version: string } | undefined {
  try {
    const value: unknown = JSON.parse(body)
    if (typeof value !== 'object' || value === null) return undefined
    const { status, version } = value as Record<string, unknown>
    if (typeof status !== 'string') return undefined
    return { status, version: typeof version === 'string' ? version : '' }
  } catch {
    return undefined
  }
}

/** `HTTP 400: <the rack's error>`, scrubbed: server text is not ours and could echo anything. */
function describeAnswer(ctx: Context, response: ApiResponse): string {
  let detail = ''
  try {
    const value: unknown = JSON.parse(response.body)
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { error?: unknown }).error === 'string'
    ) {
      detail = (value as { error: string }).error
    }
  } catch {
    if (!/^\s*</.test(response.body)) detail = response.body
  }
  detail = serverLine(detail, ctx.forms)
  const location = serverLine(String(response.headers.location ?? ''), ctx.forms)
  const status =
    response.status >= 300 && response.status < 400 && location
      ? `HTTP ${response.status} to ${location}`
      : `HTTP ${response.status}`
  return detail ? `${status}: ${detail}` : status
}

function elapsed(ctx: Context): string {
  return formatDuration(ctx.clock.now() - ctx.startedAt)
}

/** Sleeps so that the next poll starts `delay` after `pollStart`, but never past the deadline. */
async function sleepUntilNextPoll(
  ctx: Context,
  pollStart: number,
  delay: number,
  deadline: number
): Promise<void> {
  const wake = Math.min(pollStart + delay, deadline)
  const ms = wake - ctx.clock.now()
  if (ms > 0) await ctx.clock.sleep(ms)
}

/** Before a new roll: CloudFormation refuses an update while another runs, so wait for `running`. */
async function waitUntilRunning(ctx: Context, deadline: number): Promise<void> {
  const { clock, log, timing } = ctx
  let failures = 0
  let status: string | undefined
  let lastError: string | undefined
  let lastProgress = clock.now()
  for (;;) {
    const pollStart = clock.now()
    ctx.polls++
    const result = await probe(ctx, ctx.api)
    if (result.kind === 'accepted') {
      refuseUnsupported('rack', result.version)
      if (result.status === 'running') return
      if (result.status === 'failed') {
        throw new KeyrollError(
          "keyroll refused: the rack's status is failed (its last CloudFormation update did not finish) and it will not " +
            'recover on its own. Nothing was changed; repair the stack in the AWS console, then run the keyroll again.'
        )
      }
      if (status !== result.status) {
        log.info(`The rack is ${result.status}; waiting for it to be running before rolling the key.`)
      }
      status = result.status
      failures = 0
    } else if (result.kind === 'rejected') {
      const where = ctx.store ? ` (${ctx.store.describe('current')})` : ''
      const next = ctx.store ? ` (${ctx.store.describe('next')})` : ''
      throw new KeyrollError(
        `keyroll refused: the rack does not accept the password input${where} (401 invalid authentication), and a keyroll ` +
          `starts from the key that works. If an earlier keyroll did not finish, pass the key it saved${next} as ` +
          'password-next to complete it.'
      )
    } else if (!result.transient) {
      throw new KeyrollError(
        `Could not read the rack's status before the keyroll: ${result.reason}. Nothing was changed.`
      )
    } else {
      failures++
      lastError = result.reason
    }
    if (clock.now() >= deadline) {
      const state = status ? `still ${status}` : `not answering (last error: ${lastError ?? 'none'})`
      throw new KeyrollError(
        `keyroll refused: the rack is ${state} after ${formatDuration(ctx.timeoutMs)} (keyroll-timeout), and a key can only ` +
          'be rolled on a running rack, because CloudFormation refuses a second update while one runs. Nothing was ' +
          'changed; run the keyroll again when the rack is running, or raise keyroll-timeout.'
      )
    }
    if (progressDue(clock.now() - lastProgress, timing)) {
      lastProgress = clock.now()
      log.info(
        `Keyroll: ${elapsed(ctx)} of ${formatDuration(ctx.timeoutMs)} waiting for the rack to be running; ` +
          `rack ${status ?? 'status not known yet'}; last error: ${lastError ?? 'none'}.`
      )
    }
    const retryAfter = result.kind === 'failed' ? result.retryAfterMs : undefined
    const delay = pollDelay(failures > 0 ? 'failed' : 'steady', failures, timing, clock.random(), retryAfter)
    await sleepUntilNextPoll(ctx, pollStart, delay, deadline)
  }
}

type WatchEnd =
  | { kind: 'live' }
  /** Running, the old key accepted and the new refused, twice in a row. */
  | { kind: 'not-started'; sawChange: boolean }
  | { kind: 'failed' }
  | { kind: 'timeout'; everAccepted: boolean; oldEverAccepted: boolean; status?: string; lastError?: string }

interface WatchOptions {
  next: string
  deadline: number
  /**
   * The rack answered the PUT with ok. Then looking untouched is no reason to act, only a change
   * and a return (a rollback) is; otherwise whether the roll started is the open question.
   */
  started: boolean
  /** Wait this long before the first poll: right after a PUT the key cannot be live yet. */
  firstPollAfterMs: number
  what: string
}

/**
 * Waits until the rack accepts `next` on two checks in a row and says `running`, riding out 401,
 * 5xx, 429 and network errors. One GET /system with the new key per poll answers both questions.
 * While the new key has never been accepted, the old key is probed too, to tell a roll in
 * progress from none: on every refused poll while that is the open question, else at most every
 * `oldKeyProbeMs` (a rollback is slow).
 */
async function watchRoll(ctx: Context, watch: WatchOptions): Promise<WatchEnd> {
  const { clock, log, timing } = ctx
  const nextApi = ctx.api.withPassword(watch.next)
  let everAccepted = false
  let consecutive = 0
  let failures = 0
  let notStarted = 0
  let sawChange = false
  let oldEverAccepted = false
  let status: string | undefined
  let lastError: string | undefined
  let lastOldProbe = clock.now()
  let lastProgress = clock.now()
  if (watch.firstPollAfterMs > 0) {
    await sleepUntilNextPoll(
      ctx,
      clock.now(),
      watch.firstPollAfterMs + Math.floor(clock.random() * timing.pollJitterMs),
      watch.deadline
    )
  }
  for (;;) {
    const pollStart = clock.now()
    ctx.polls++
    const result = await probe(ctx, nextApi)
    let outcome: PollResult
    let retryAfter: number | undefined
    if (result.kind === 'accepted') {
      if (!everAccepted) {
        log.info(`The rack accepts the new key (${elapsed(ctx)} in); making sure it keeps doing so.`)
      }
      everAccepted = true
      consecutive++
      failures = 0
      notStarted = 0
      if (result.status !== status) log.debug(`Rack status: ${result.status}.`)
      status = result.status
      if (status !== 'running') sawChange = true
      if (status === 'running' && consecutive >= 2) return { kind: 'live' }
      if (status === 'failed') return { kind: 'failed' }
      outcome = status === 'running' ? 'confirm' : 'steady'
    } else {
      consecutive = 0
      failures++
      outcome = 'failed'
      lastError = result.kind === 'rejected' ? 'new key refused (401)' : result.reason
      retryAfter = result.kind === 'failed' ? result.retryAfterMs : undefined
      const probeOld =
        result.kind === 'rejected' &&
        !everAccepted &&
        (notStarted > 0 ||
          (!watch.started && !sawChange) ||
          clock.now() - lastOldProbe >= timing.oldKeyProbeMs)
      if (probeOld) {
        lastOldProbe = clock.now()
        const old = await probe(ctx, ctx.api)
        if (old.kind === 'accepted') {
          oldEverAccepted = true
          status = old.status
          if (old.status === 'running') notStarted++
          else {
            sawChange = true
            notStarted = 0
          }
          if (old.status === 'failed') return { kind: 'failed' }
        } else {
          // The old key opened the rack before; refused now, the rack has changed.
          if (old.kind === 'rejected') sawChange = true
          notStarted = 0
        }
        if (notStarted >= 2 && (!watch.started || sawChange)) return { kind: 'not-started', sawChange }
      } else if (result.kind !== 'rejected') {
        notStarted = 0
      }
    }
    log.debug(
      `Keyroll poll ${ctx.polls}: new key ${result.kind}${result.kind === 'failed' ? ` (${result.reason})` : ''}, ` +
        `rack ${status ?? 'unknown'}.`
    )
    if (clock.now() >= watch.deadline) {
      return { kind: 'timeout', everAccepted, oldEverAccepted, status, lastError }
    }
    if (progressDue(clock.now() - lastProgress, timing)) {
      lastProgress = clock.now()
      log.info(
        `Keyroll: ${elapsed(ctx)} of ${formatDuration(ctx.timeoutMs)} waiting for ${watch.what}; rack ${status ?? 'status not known yet'}; ` +
          `new key ${consecutive > 0 ? 'accepted' : everAccepted ? 'accepted before, not on the last check' : 'not accepted yet'}; ` +
          `last error: ${lastError ?? 'none'}.`
      )
      lastError = undefined
    }
    await sleepUntilNextPoll(
      ctx,
      pollStart,
      pollDelay(outcome, failures, timing, clock.random(), retryAfter),
      watch.deadline
    )
  }
}

/**
 * `password-next` is set: an earlier keyroll stored that key and may have sent it. Find out what
 * became of it before doing anything else. Returns the result when that roll is finished here,
 * undefined when it never took effect and a new roll may start.
 */
async function recover(ctx: Context, pending: string, deadline: number): Promise<KeyrollResult | undefined> {
  const { log, store } = ctx
  log.info(
    'password-next is set: checking whether the earlier keyroll that saved it went through before starting another.'
  )
  const end = await watchRoll(ctx, {
    next: pending,
    deadline,
    started: false,
    firstPollAfterMs: 0,
    what: 'the earlier keyroll to finish'
  })
  if (end.kind === 'live') {
    log.info(
      'The rack uses the key from password-next: finishing the earlier keyroll instead of starting a new one.'
    )
    return finish(ctx, pending, true)
  }
  if (end.kind === 'not-started') {
    log.info(
      'The rack is running and accepts only the password input: the earlier keyroll never took effect. ' +
        'Dropping its unused key and starting a new keyroll.'
    )
    await dropNext(ctx)
    return undefined
  }
  const kept = keptWhere(ctx, 'password-next')
  if (end.kind === 'failed') {
    throw new KeyrollError(
      `The rack's status is failed while an earlier keyroll may be in progress. ${kept} Repair the stack in the AWS ` +
        'console, then run again with the same password-next.',
      pending
    )
  }
  if (!end.everAccepted && !end.oldEverAccepted) {
    const current = store ? ` (${store.describe('current')})` : ''
    const next = store ? ` (${store.describe('next')})` : ''
    throw new KeyrollError(
      `Neither key opens the rack: for ${formatDuration(ctx.timeoutMs)} it refused both the password input${current} and ` +
        `password-next${next} (last error: ${end.lastError ?? 'none'}). The key it expects is its Password parameter, ` +
        "which can't be read back: set a known one through the rack's CloudFormation stack in the AWS console " +
        '(Update stack, parameter Password), then put it in the secret.'
    )
  }
  throw new KeyrollError(
    `The earlier keyroll is still in progress after ${formatDuration(ctx.timeoutMs)} (rack ${end.status ?? 'status unknown'}, ` +
      `last error: ${end.lastError ?? 'none'}). ${kept} Run again later with the same password-next to finish it.`,
    pending
  )
}

/** Where the pending key is, for messages: a store secret, or an output a later step must save. */
function keptWhere(ctx: Context, source: 'password-next' | 'output'): string {
  if (ctx.store) {
    return `Both keys are kept: the new one in ${ctx.store.describe('next')}, the old one in ${ctx.store.describe('current')}.`
  }
  if (source === 'password-next') return 'The new key is still the one passed as password-next.'
  return (
    'The new key is in the masked password output of this step only: no update-secret was given, so a later step must ' +
    'store it now, or it is lost once the rack finishes the update.'
  )
}

type PutAnswer = { kind: 'ok' } | { kind: 'refused'; reason: string } | { kind: 'ambiguous'; reason: string }

async function sendPut(ctx: Context, newKey: string): Promise<PutAnswer> {
  ctx.requests++
  try {
    const response = await ctx.api.send({
      method: 'PUT',
      path: '/system',
      form: { parameters: `Password=${newKey}` },
      timeoutMs: ctx.timing.putTimeoutMs
    })
    if (response.status >= 200 && response.status < 300) return { kind: 'ok' }
    const reason = describeAnswer(ctx, response)
    // A 5xx or 429 may come from a load balancer after the rack acted: not an answer about the roll.
    return isTransientStatus(response.status) ? { kind: 'ambiguous', reason } : { kind: 'refused', reason }
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    return { kind: 'ambiguous', reason: describeNetworkError(error) }
  }
}

/** A new roll: NEXT first, then one PUT, then the wait. Only the same key is ever sent again. */
async function roll(ctx: Context, newKey: string): Promise<KeyrollResult> {
  const { log, store, timing } = ctx
  if (store) {
    try {
      await store.writeNext(newKey)
    } catch (error) {
      throw new KeyrollError(
        `Could not save the new key to ${store.describe('next')} (${ctx.scrub(errorText(error))}), so the keyroll stopped ` +
          'before changing the rack: the current key still works. Check that github-token may write Actions secrets.'
      )
    }
    log.info(`The new key is saved in ${store.describe('next')}; asking the rack to use it (PUT /system).`)
  } else {
    log.warning(
      'keyroll without update-secret: until a later step stores it, the new key exists only in this job (the masked ' +
        'password output). If the job is cancelled mid-roll it can be lost; set update-secret to keep it safe.'
    )
    log.info('Asking the rack to use a new key (PUT /system).')
  }
  const deadline = ctx.clock.now() + ctx.timeoutMs
  for (let puts = 1; ; puts++) {
    const answer = await sendPut(ctx, newKey)
    if (answer.kind === 'refused' && puts === 1) {
      await dropNext(ctx)
      throw new KeyrollError(
        `The rack refused the keyroll (${answer.reason}): nothing changed and the current key still works.`
      )
    }
    if (answer.kind === 'ok') {
      log.info(
        'The rack started the keyroll; waiting for it to take the new key (its API restarts meanwhile).'
      )
    } else if (answer.kind === 'refused') {
      // Refusing a re-send can mean the first send is being applied (UPDATE_IN_PROGRESS): not proof of anything.
      log.warning(
        `The rack refused the re-sent key (${answer.reason}); checking whether the earlier send started.`
      )
    } else {
      log.warning(
        `PUT /system got no clear answer (${answer.reason}): the keyroll may or may not have started. Checking the rack ` +
          'before doing anything else; only the same key is ever sent again.'
      )
    }
    const end = await watchRoll(ctx, {
      next: newKey,
      deadline,
      started: answer.kind === 'ok',
      firstPollAfterMs: timing.firstPollMs,
      what: 'the rack to take the new key'
    })
    if (end.kind === 'live') return finish(ctx, newKey, false)
    if (end.kind === 'not-started' && end.sawChange) {
      throw new KeyrollError(
        'The rack rolled the keyroll back (its CloudFormation update failed): it is running with the current key, which ' +
          `still works.${store ? ` The unused new key stays in ${store.describe('next')} until the next keyroll drops it.` : ''} ` +
          "See the stack's events in the AWS console, then run again."
      )
    }
    if (end.kind === 'not-started') {
      if (puts >= timing.maxPuts) {
        await dropNext(ctx)
        throw new KeyrollError(
          `The rack did not start the keyroll after ${puts} attempts (last answer: ${answer.kind === 'ok' ? 'ok' : answer.reason}): it is running and ` +
            'accepts only the current key, which still works. Nothing changed; run again later.'
        )
      }
      log.info(
        'The rack is running and still refuses the new key on two checks: the keyroll did not start. Sending the same key again.'
      )
      continue
    }
    const kept = keptWhere(ctx, 'output')
    const rerun = store
      ? `To finish, run again with keyroll: true and password-next set to ${store.describe('next')}.`
      : 'To finish, run again with keyroll: true and password-next set to that key.'
    if (end.kind === 'failed') {
      throw new KeyrollError(
        `The rack's status became failed during the keyroll. ${kept} Repair the stack in the AWS console; ${rerun}`,
        newKey
      )
    }
    throw new KeyrollError(
      `The keyroll did not finish within ${formatDuration(ctx.timeoutMs)} (keyroll-timeout): the rack is ` +
        `${end.status ?? 'not answering'}, the new key ${end.everAccepted ? 'was accepted at times but not steadily' : 'not accepted yet'} ` +
        `(last error: ${end.lastError ?? 'none'}). ${kept} ${rerun}`,
      newKey
    )
  }
}

/** The rack uses `newKey`: note whether the old key still works, then make the new one current. */
async function finish(ctx: Context, newKey: string, resumed: boolean): Promise<KeyrollResult> {
  const { log, store } = ctx
  const oldKeyRevoked = await oldKeyRefused(ctx)
  if (store) {
    try {
      await store.writeCurrent(newKey)
    } catch (error) {
      throw new KeyrollError(
        `The rack now uses the new key, but saving it to ${store.describe('current')} failed (${ctx.scrub(errorText(error))}). ` +
          `It is kept in ${store.describe('next')}: run again with keyroll: true and password-next set to it to finish.`,
        newKey
      )
    }
    try {
      await store.deleteNext()
    } catch (error) {
      log.warning(
        `The new key is saved in ${store.describe('current')}, but removing ${store.describe('next')} failed ` +
          `(${ctx.scrub(errorText(error))}); it holds the same key and is harmless. Delete it by hand or let the next keyroll do it.`
      )
    }
  }
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

/** Drops NEXT when it is known to be unused. A failure is only a warning: the next keyroll checks it again. */
async function dropNext(ctx: Context): Promise<void> {
  if (!ctx.store) return
  try {
    await ctx.store.deleteNext()
  } catch (error) {
    ctx.log.warning(
      `Could not remove the unused key from ${ctx.store.describe('next')} (${ctx.scrub(errorText(error))}); ` +
        'the next keyroll checks it again.'
    )
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
