import type { ConvoxApi } from '../api.ts'
import { NetworkError } from '../api.ts'
import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import type { TokenCredential } from '../credential.ts'
import { formatExpiry } from '../credential.ts'
import { ConvoxError } from '../errors.ts'
import { parseRetryAfter } from '../http/retry.ts'
import { serverLine } from '../http/server-text.ts'
import type { SecretStore } from '../stores/store.ts'
import type { MintedToken, MintRequest } from './mint.ts'
import { mintToken } from './mint.ts'
import { probeHours } from './options.ts'
import * as say from './revoke-messages.ts'
import type { Probe, WindowTiming } from './window.ts'
import { DEFAULT_WINDOW_TIMING, initialWindow, judgeStored, observe, recordSent } from './window.ts'

/**
 * Revoking every rack access token (docs/tokens.md): rotate the signing key, ride out the rolling
 * restart of the API, mint and verify a token with the new key, store it. Crash-safe by what the
 * store holds: before rotating, a short-lived probe minted with the old key is stored (deploy jobs
 * keep working through the window), so a rerun given the stored value back asks the rack about it
 * and knows whether the rotation happened, is under way, or has not begun.
 */

export interface RevokeRequest extends MintRequest {
  store: SecretStore
  /** What the store held when this run began (its RACK_URL's token); none on a first run. */
  stored?: TokenCredential
  timeoutMs: number
  timing?: WindowTiming
  clock: Clock
}

export interface Revoked extends MintedToken {
  /** Whether this run rotated the key (false when a rerun found it rotated already). */
  rotated: boolean
  /** From the rotation (or this run's start, on a rerun) to the new token stored. */
  seconds: number
}

/** How many times a rerun asks the rack about the stored token before judging it. */
const JUDGE_SAMPLES = 8

export async function revokeTokens(request: RevokeRequest): Promise<Revoked> {
  const { log, clock, store } = request
  const start = clock.now()
  const probeLife = probeHours(request.timeoutMs)
  let probe: TokenCredential | undefined
  // The requests of the last minute count toward the window's pace.
  const sent: number[] = []
  if (request.stored) {
    // Enough answers that a restart under way is not taken for none: with half the processes
    // restarted, all of them land on old ones once in 2^JUDGE_SAMPLES reruns.
    const askedAt = clock.now()
    const answers = await ask(request, request.stored, JUDGE_SAMPLES)
    for (let i = 0; i < JUDGE_SAMPLES; i++) sent.push(askedAt)
    const verdict = judgeStored(answers)
    log.info(say.storedVerdict(verdict))
    if (verdict !== 'not-rotated') probe = request.stored
    else if (isFreshResult(request.stored, request.hours, probeLife, clock.now())) {
      log.info(say.alreadyDone(formatExpiry(request.stored.expiresAt)))
      return { ...asMinted(request, request.stored), rotated: false, seconds: 0 }
    }
  }
  let rotated = false
  if (!probe) {
    sent.push(clock.now())
    const minted = await mintToken({ ...request, hours: probeLife })
    // Before the rotation: the store must hold a token that works until the window ends, and a
    // rerun must find something to ask the rack about.
    await store.writeCurrent(minted.rackUrl)
    log.info(say.probeStored(store.describe('current')))
    sent.push(clock.now())
    await rotate(request)
    rotated = true
    probe = minted.credential
  }
  const from = clock.now()
  const done = await rideWindow(request, probe, from, sent)
  const seconds = Math.round((clock.now() - (rotated ? from : start)) / 1000)
  log.info(
    say.stored(store.describe('current'), done.credential.role, formatExpiry(done.credential.expiresAt))
  )
  return { ...done, rotated, seconds }
}

/**
 * A stored token this option would have minted within the last hour, which no probe can be (a
 * probe lives `probeLife` hours, a job token `hours` > probeLife + 1): the earlier run finished.
 */
function isFreshResult(stored: TokenCredential, hours: number, probeLife: number, nowMs: number): boolean {
  const left = stored.expiresAt.getTime() - nowMs
  const age = hours * 3600_000 - left
  return left > (probeLife + 0.5) * 3600_000 && age >= 0 && age < 3600_000
}

function asMinted(request: RevokeRequest, credential: TokenCredential): MintedToken {
  const host = request.api.host
  return { credential, host, rackUrl: `https://jwt:${encodeURIComponent(credential.secret)}@${host}` }
}

async function rotate(request: RevokeRequest): Promise<void> {
  const { api } = request
  let status: number
  let body: string
  try {
    ;({ status, body } = await api.send({ method: 'PUT', path: '/system/jwt/rotate', timeoutMs: 30_000 }))
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error
    throw new ConvoxError(say.rotateUnknown(api.host, error.message))
  }
  if (status === 403) throw new ConvoxError(say.rotateForbidden(api.host, request.naming))
  if (status !== 200) {
    throw new ConvoxError(say.rotateFailed(api.host, status, serverLine(body, request.secrets)))
  }
  request.log.info(say.rotated(api.host))
}

/**
 * Asks and sleeps as the window step says, mints and stores when it says so: a new token is stored
 * as soon as it is verified and replaced while part of the API refuses it (docs/tokens.md).
 */
async function rideWindow(
  request: RevokeRequest,
  probe: TokenCredential,
  from: number,
  sent: number[]
): Promise<MintedToken> {
  const { clock, log, store } = request
  const timing = request.timing ?? DEFAULT_WINDOW_TIMING
  let state = initialWindow(timing, sent[0] ?? clock.now(), sent.length)
  let candidate: MintedToken | undefined
  let stored: MintedToken | undefined
  let lastLine = clock.now()
  // Just rotated, no process has restarted yet: the first request waits a poll.
  if (sent.length > 0) await clock.sleep(timing.pollMs)
  for (;;) {
    const spent = clock.now() - from
    if (spent >= request.timeoutMs) {
      // Out of time with a verified token stored: it is the best there is.
      if (stored) return stored
      throw new ConvoxError(say.timedOut(formatDuration(spent), request.naming))
    }
    const asked = state.asking === 'probe' ? probe : candidate!.credential
    const sentAt = clock.now()
    const [answer] = await ask(request, asked, 1)
    const next = observe(state, answer!, timing, clock.random(), sentAt)
    state = next.state
    if (next.step.kind === 'done') return stored!
    if (next.step.kind === 'mint') {
      if (stored) log.info(say.replacing())
      await clock.sleep(Math.max(0, sentAt + next.step.ms - clock.now()))
      state = recordSent(state, timing, clock.now())
      candidate = await mintToken({ ...request, retry: { ...request.retry, budgetMs: timing.maxWaitMs } })
      continue
    }
    if (next.step.kind === 'store') {
      stored = candidate!
      await store.writeCurrent(stored.rackUrl)
    }
    if (clock.now() - lastLine >= 30_000) {
      lastLine = clock.now()
      log.info(say.progress(formatDuration(clock.now() - from), formatDuration(request.timeoutMs)))
    }
    const wait = Math.max(0, sentAt + next.step.ms - clock.now())
    await clock.sleep(Math.min(wait, Math.max(0, request.timeoutMs - (clock.now() - from))))
  }
}

/** `GET /auth` with a token, `times` times back to back, each answer read as the window step reads it. */
async function ask(request: RevokeRequest, token: TokenCredential, times: number): Promise<Probe[]> {
  const api: ConvoxApi = request.api.withCredential(token.secret, 'jwt')
  const answers: Probe[] = []
  for (let i = 0; i < times; i++) {
    try {
      const answer = await api.send({ method: 'GET', path: '/auth', timeoutMs: 5000 })
      if (answer.status === 200) answers.push({ kind: 'accepted' })
      else if (answer.status === 401 && /signature is invalid|token is expired/.test(answer.body)) {
        answers.push({ kind: 'refused' })
      } else if (answer.status >= 500 || answer.status === 429) {
        const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], request.clock.now())
        answers.push({ kind: 'transient', retryAfterMs })
      } else {
        throw new ConvoxError(
          `${api.host} answered GET /auth with HTTP ${answer.status} during the revocation (${serverLine(answer.body, request.secrets)}): run again with the same inputs.`
        )
      }
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error
      answers.push({ kind: 'transient' })
    }
  }
  return answers
}
