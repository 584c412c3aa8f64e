import type { ConvoxApi } from '../src/core/api.ts'
import type { Clock } from '../src/core/clock.ts'
import { parseToken } from '../src/core/credential.ts'
import { ConvoxError } from '../src/core/errors.ts'
import { silentLog } from '../src/core/log.ts'
import { INPUT_NAMING } from '../src/action/naming.ts'
import type { SecretStore } from '../src/core/stores/store.ts'
import type { Revoked } from '../src/core/tokens/revoke.ts'
import { revokeTokens } from '../src/core/tokens/revoke.ts'
import type { RecordedRequest } from './fake-convox.ts'
import type { V3RackModel } from './fake-v3-rack.ts'
import { createV3RackModel, simulateV3Api } from './fake-v3-rack.ts'
import { tokenOf, verifyRackToken } from './rack-tokens.ts'
import { virtualClock } from './virtual-clock.ts'

/**
 * A revocation against the v3 rack model on a virtual clock: a rolling restart of minutes runs in
 * milliseconds, so the window step's bounds are measured over many seeds (tests and `npm run bench`).
 */

export const REVOKE_PASSWORD = 'SimulatedV3RackPassword0123456789abcdefghijklmnopqrstuvwxyzABCD'

export interface RevocationMeasure {
  result: Revoked
  model: V3RackModel
  /**
   * From the last process's restart to the store holding, for good, tokens that survive it (a
   * token of the new key stored before the restart ends counts as 0).
   */
  noticeMs: number
  /** The most requests in any 60 s. */
  maxPerMinute: number
  requests: RecordedRequest[]
  /** Every value written to the store, in order, with when. */
  writes: Array<{ at: number; value: string }>
}

export interface RevocationCase {
  processes: number
  restartMs: number
}

/** Rolling restarts from a quick one to a slow one, as the k8s Deployment of the API gives. */
export const REVOCATION_WINDOWS: RevocationCase[] = [
  { processes: 1, restartMs: 5_000 },
  { processes: 2, restartMs: 15_000 },
  { processes: 3, restartMs: 30_000 },
  { processes: 4, restartMs: 60_000 },
  { processes: 6, restartMs: 60_000 }
]

export function memoryStore(clock: {
  now: () => number
}): SecretStore & { writes: Array<{ at: number; value: string }> } {
  const writes: Array<{ at: number; value: string }> = []
  return {
    writes,
    describe: () => 'the test store',
    writeNext: async () => undefined,
    deleteNext: async () => undefined,
    writeCurrent: async value => void writes.push({ at: clock.now(), value }),
    close: () => undefined
  }
}

interface Rig {
  clock: Clock
  model: V3RackModel
  api: ConvoxApi
  requests: RecordedRequest[]
  store: ReturnType<typeof memoryStore>
}

function rig(seed: number, c: RevocationCase): Rig {
  const clock = virtualClock(seed)
  const model = createV3RackModel(
    { password: REVOKE_PASSWORD, signingKey: `key-${seed}`, processes: c.processes, restartMs: c.restartMs },
    clock
  )
  model.rackDomain = 'simulated-v3-rack'
  const requests: RecordedRequest[] = []
  const api = simulateV3Api(model, clock, REVOKE_PASSWORD, { requests }) as unknown as ConvoxApi
  return { clock, model, api, requests, store: memoryStore(clock) }
}

function revoke(r: Rig, timeoutMs: number, api = r.api, store: SecretStore = r.store, stored?: string) {
  return revokeTokens({
    api,
    role: 'write',
    hours: 6,
    rackVersion: '3.24.9',
    connection: { insecure: false },
    retry: { budgetMs: 10_000, clock: r.clock, log: silentLog },
    secrets: [],
    log: silentLog,
    naming: INPUT_NAMING,
    clock: r.clock,
    store,
    stored: stored === undefined ? undefined : parseToken(tokenOf(stored), 'the stored value'),
    timeoutMs
  })
}

function measure(r: Rig, result: Revoked): RevocationMeasure {
  const endsAt = r.model.restartEndsAt() ?? 0
  // The earliest write from which every write holds a token that outlives the restart.
  let good = r.store.writes.length
  while (good > 0 && survives(r.model, r.store.writes[good - 1]!.value)) good--
  const settledAt = r.store.writes[good]?.at ?? Infinity
  return {
    result,
    model: r.model,
    noticeMs: Math.max(0, settledAt - endsAt),
    maxPerMinute: maxInAnyMinute(r.requests.map(q => q.time)),
    requests: r.requests,
    writes: r.store.writes
  }
}

/** Whether a stored RACK_URL's token is accepted once the last rotation's restart is over. */
export function survives(model: V3RackModel, url: string): boolean {
  return 'claims' in verifyRackToken(model.signingKey, tokenOf(url), (model.restartEndsAt() ?? 0) + 1)
}

export async function simulateRevocation(
  seed: number,
  c: RevocationCase,
  timeoutMs = 30 * 60_000
): Promise<RevocationMeasure> {
  const r = rig(seed, c)
  return measure(r, await revoke(r, timeoutMs))
}

/**
 * Where a run is killed: just after its `nth` store write, or just after the rotation's answer;
 * `failure`: not killed, it fails on its own (out of time) and is run again.
 */
export type CrashPoint = { after: 'write'; nth: number } | { after: 'rotate' } | { after: 'failure' }

const CRASH = new Error('killed')

export interface RerunMeasure extends RevocationMeasure {
  /** Whether the first run got to the crash point (it may finish before a late write). */
  crashed: boolean
  /** When the rerun started and how long it took. */
  rerunAt: number
  rerunMs: number
}

/**
 * A revocation killed at `crash`, then, `delayMs` later, run again with what the store holds (as
 * `stored-rack-url` gives it back): the rerun must end right without a second rotation.
 */
export async function simulateRerun(
  seed: number,
  c: RevocationCase,
  crash: CrashPoint,
  delayMs: number,
  timeoutMs = 30 * 60_000,
  rerunTimeoutMs = timeoutMs
): Promise<RerunMeasure> {
  const r = rig(seed, c)
  const store: SecretStore = {
    ...r.store,
    writeCurrent: async value => {
      await r.store.writeCurrent(value)
      if (crash.after === 'write' && r.store.writes.length === crash.nth) throw CRASH
    }
  }
  const api = {
    ...r.api,
    send: async (request: Parameters<ConvoxApi['send']>[0]) => {
      const answer = await r.api.send(request)
      if (crash.after === 'rotate' && request.method === 'PUT' && request.path === '/system/jwt/rotate')
        throw CRASH
      return answer
    }
  } as ConvoxApi
  let crashed = false
  try {
    await revoke(r, timeoutMs, api, store)
  } catch (error) {
    if (error !== CRASH && !(crash.after === 'failure' && error instanceof ConvoxError)) throw error
    crashed = true
  }
  await r.clock.sleep(delayMs)
  const rerunAt = r.clock.now()
  const result = await revoke(r, rerunTimeoutMs, r.api, r.store, r.store.writes.at(-1)!.value)
  return { ...measure(r, result), crashed, rerunAt, rerunMs: r.clock.now() - rerunAt }
}

export function maxInAnyMinute(times: readonly number[]): number {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 60_000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}
