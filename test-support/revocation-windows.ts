import type { ConvoxApi } from '../src/core/api.ts'
import { silentLog } from '../src/core/log.ts'
import { INPUT_NAMING } from '../src/action/naming.ts'
import type { SecretStore } from '../src/core/stores/store.ts'
import type { Revoked } from '../src/core/tokens/revoke.ts'
import { revokeTokens } from '../src/core/tokens/revoke.ts'
import type { RecordedRequest } from './fake-convox.ts'
import type { V3RackModel } from './fake-v3-rack.ts'
import { createV3RackModel, simulateV3Api } from './fake-v3-rack.ts'
import { virtualClock } from './virtual-clock.ts'

/**
 * A revocation against the v3 rack model on a virtual clock: a rolling restart of minutes runs in
 * milliseconds, so the window step's bounds are measured over many seeds (tests and `npm run bench`).
 */

export const REVOKE_PASSWORD = 'SimulatedV3RackPassword0123456789abcdefghijklmnopqrstuvwxyzABCD'

export interface RevocationMeasure {
  result: Revoked
  model: V3RackModel
  /** From the last process's restart to the new token stored. */
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

export async function simulateRevocation(
  seed: number,
  c: RevocationCase,
  timeoutMs = 30 * 60_000
): Promise<RevocationMeasure> {
  const clock = virtualClock(seed)
  const model = createV3RackModel(
    { password: REVOKE_PASSWORD, signingKey: `key-${seed}`, processes: c.processes, restartMs: c.restartMs },
    clock
  )
  model.rackDomain = 'simulated-v3-rack'
  const requests: RecordedRequest[] = []
  const api = simulateV3Api(model, clock, REVOKE_PASSWORD, { requests }) as unknown as ConvoxApi
  const store = memoryStore(clock)
  const result = await revokeTokens({
    api,
    role: 'write',
    hours: 6,
    rackVersion: '3.24.9',
    connection: { insecure: false },
    retry: { budgetMs: 10_000, clock, log: silentLog },
    secrets: [],
    log: silentLog,
    naming: INPUT_NAMING,
    clock,
    store,
    timeoutMs
  })
  const endsAt = model.restartEndsAt() ?? 0
  const last = store.writes.at(-1)!.at
  return {
    result,
    model,
    // A token of the new key stored before the restart ends survives it: no wait at all.
    noticeMs: Math.max(0, last - endsAt),
    maxPerMinute: maxInAnyMinute(requests.map(r => r.time)),
    requests,
    writes: store.writes
  }
}

export function maxInAnyMinute(times: readonly number[]): number {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 60_000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}
