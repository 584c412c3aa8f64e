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
import type { Resume } from './rerun.ts'
import { lifetimeOf, resumeFrom } from './rerun.ts'
import type { Probe, WindowStart, WindowTiming } from './window.ts'
import { DEFAULT_WINDOW_TIMING, initialWindow, observe, recordSent } from './window.ts'

/**
 * Revoking every rack access token (docs/tokens.md): rotate the signing key, ride out the rolling
 * restart of the API, mint and verify a token with the new key, store it. Crash-safe by what the
 * store holds: a short-lived probe minted with the old key before rotating, an interim token
 * during the restart, the final token after it, each with a lifetime of its own (rerun.ts), so a
 * rerun given the stored value back knows where the earlier run stopped and asks the rack the rest.
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
  /** From the rotation (or this run's start, on a rerun that does not rotate) to the final token stored. */
  seconds: number
}

/** How many times a rerun asks the rack about the stored token before judging it. */
const JUDGE_SAMPLES = 8

export async function revokeTokens(request: RevokeRequest): Promise<Revoked> {
  const { log, clock, store } = request
  const timing = request.timing ?? DEFAULT_WINDOW_TIMING
  const probeLife = probeHours(request.timeoutMs)
  const firstRestartMs = Math.min(request.timeoutMs, timing.firstRestartMs)
  // The requests of the last minute count toward the window's pace.
  const sent: number[] = []
  let resume: Resume = { kind: 'start', why: 'expired' }
  if (request.stored) {
    const lifetime = lifetimeOf(request.stored.expiresAt.getTime() - clock.now(), request.hours, probeLife)
    // Enough answers that a restart under way is not taken for none: with half the processes
    // restarted, all of them land on old ones once in 2^JUDGE_SAMPLES reruns.
    const answers = lifetime === 'expired' ? [] : await ask(request, request.stored, JUDGE_SAMPLES, sent)
    resume = resumeFrom(lifetime, answers)
    if (resume.kind === 'unanswered') throw new ConvoxError(say.unanswered(request.api.host))
    if (resume.kind === 'done') {
      log.info(say.alreadyDone(formatExpiry(request.stored.expiresAt)))
      return { ...asMinted(request, request.stored), rotated: false, seconds: 0 }
    }
    log.info(say.resumeFrom(resume, formatDuration(firstRestartMs)))
  }
  const ride: Ride = { from: clock.now(), rotated: false, start: {} }
  let probe = request.stored
  if (resume.kind === 'start') {
    sent.push(clock.now())
    const minted = await mintToken({ ...request, hours: probeLife })
    // Before the rotation: the store must hold a token that works until the window ends, and a
    // rerun must find something to ask the rack about.
    await store.writeCurrent(minted.rackUrl)
    log.info(say.probeStored(store.describe('current')))
    sent.push(clock.now())
    await rotate(request)
    ride.from = clock.now()
    ride.rotated = true
    probe = minted.credential
  } else if (resume.kind === 'await') {
    ride.start.rotateBy = clock.now() + firstRestartMs
  } else if (resume.kind === 'settle') {
    ride.start.settleFor = Math.min(request.timeoutMs, timing.settleMs)
  }
  const done = await rideWindow(request, probe!, ride, sent)
  const seconds = Math.round((clock.now() - ride.from) / 1000)
  log.info(
    say.stored(store.describe('current'), done.credential.role, formatExpiry(done.credential.expiresAt))
  )
  return { ...done, rotated: ride.rotated, seconds }
}

/** Where the window starts: just rotated, or where a rerun picks up; `from` moves to a rerun's rotation. */
interface Ride {
  from: number
  rotated: boolean
  start: WindowStart
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
 * Asks and sleeps as the window step says, mints, stores and rotates when it says so: a token
 * minted during the restart is stored (interim) as soon as it is verified and replaced while part
 * of the API refuses it; once the restart is over, the token of the asked lifetime is minted and
 * stored (docs/tokens.md).
 */
async function rideWindow(
  request: RevokeRequest,
  probe: TokenCredential,
  ride: Ride,
  sent: number[]
): Promise<MintedToken> {
  const { clock, log, store } = request
  const timing = request.timing ?? DEFAULT_WINDOW_TIMING
  let state = initialWindow(timing, sent[0] ?? clock.now(), sent.length, ride.start)
  const interimHours = probeHours(request.timeoutMs) + 1
  let candidate: MintedToken | undefined
  let stored: MintedToken | undefined
  // The bound: keyroll-timeout from the rotation; a rerun that awaits a first restart or settles
  // first gets it after that.
  const first = ride.start.settleFor ?? Math.max(0, (ride.start.rotateBy ?? 0) - clock.now())
  let deadline = clock.now() + request.timeoutMs + first
  let lastLine = clock.now()
  // Just rotated, no process has restarted yet: the first request waits a poll.
  if (ride.rotated) await clock.sleep(timing.pollMs)
  for (;;) {
    if (clock.now() >= deadline) {
      const spent = formatDuration(clock.now() - ride.from)
      // The store holds a token minted on the restarted API, short-lived: usable, not finished.
      if (stored) {
        throw new ConvoxError(
          say.timedOutInterim(spent, formatExpiry(stored.credential.expiresAt), request.naming)
        )
      }
      throw new ConvoxError(say.timedOut(spent, request.naming))
    }
    const asked = state.asking === 'probe' ? probe : candidate!.credential
    const sentAt = clock.now()
    const [answer] = await ask(request, asked, 1)
    const settling = state.phase === 'settling'
    const next = observe(state, answer!, timing, clock.random(), sentAt)
    state = next.state
    if (settling && state.phase !== 'settling') deadline = clock.now() + request.timeoutMs
    const step = next.step
    if (step.kind === 'finish') {
      await store.writeCurrent(candidate!.rackUrl)
      return candidate!
    }
    if (step.kind === 'rotate') {
      // Nothing refused the probe for a first restart's time: the earlier run never rotated.
      await rotate(request)
      ride.rotated = true
      ride.from = clock.now()
      deadline = ride.from + request.timeoutMs
      state = recordSent(state, timing, ride.from)
      await clock.sleep(timing.pollMs)
      continue
    }
    if (step.kind === 'mint') {
      if (stored && state.phase === 'verifying') log.info(say.replacing())
      await clock.sleep(Math.max(0, sentAt + step.ms - clock.now()))
      state = recordSent(state, timing, clock.now())
      const hours = state.phase === 'finishing' ? request.hours : interimHours
      candidate = await mintToken({
        ...request,
        hours,
        retry: { ...request.retry, budgetMs: timing.maxWaitMs }
      })
      continue
    }
    if (step.kind === 'store') {
      stored = candidate!
      await store.writeCurrent(stored.rackUrl)
      log.info(say.interimStored(store.describe('current')))
    }
    // A rerun that watches or settles has said what it waits for; a rotated window says how long.
    const waitingOut = state.phase !== 'settling' && state.rotateBy === undefined
    if (waitingOut && clock.now() - lastLine >= 30_000) {
      lastLine = clock.now()
      log.info(say.progress(formatDuration(clock.now() - ride.from), formatDuration(request.timeoutMs)))
    }
    const wait = Math.max(0, sentAt + step.ms - clock.now())
    await clock.sleep(Math.min(wait, Math.max(0, deadline - clock.now())))
  }
}

/**
 * `GET /auth` with a token, `times` times back to back, each answer read as the window step reads
 * it; each send noted in `sent`, when given.
 */
async function ask(
  request: RevokeRequest,
  token: TokenCredential,
  times: number,
  sent?: number[]
): Promise<Probe[]> {
  const api: ConvoxApi = request.api.withCredential(token.secret, 'jwt')
  const answers: Probe[] = []
  for (let i = 0; i < times; i++) {
    sent?.push(request.clock.now())
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
