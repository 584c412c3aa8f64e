import { NetworkError } from '../src/core/api.ts'
import type { ApiRequest, ApiResponse } from '../src/core/api.ts'
import type { Clock } from '../src/core/clock.ts'
import { silentLog } from '../src/core/log.ts'
import { INPUT_NAMING } from '../src/action/naming.ts'
import { rotateConsolePassword } from '../src/core/rotation/console-password.ts'
import { rollInstancesV2, rollInstancesV3 } from '../src/core/rotation/instances.ts'
import { readRecord } from '../src/core/rotation/requests.ts'
import { rotationContext } from '../src/core/rotation/rotation.ts'
import type { ConsoleRackModel, ConsoleRackOptions } from './fake-console-racks.ts'
import { consoleRackModel } from './fake-console-racks.ts'
import type { FakeRack, RecordedRequest, WindowPhase } from './fake-convox.ts'
import { virtualClock } from './virtual-clock.ts'

/**
 * The update windows of issue 18 and how a rotation through them is measured, on a virtual clock:
 * Console's record and the proxied rack (fake-console-racks.ts) answered in memory, the real
 * rotation code polling them. Shared by the schedule test, which asserts the targets, and
 * `npm run bench`, which prints the figures.
 */

export const ROTATION_WINDOWS: Array<[string, WindowPhase[]]> = [
  [
    '10 s',
    [
      { ms: 4000, mode: '503' },
      { ms: 6000, mode: 'flap' }
    ]
  ],
  [
    '90 s',
    [
      { ms: 20_000, mode: 'old' },
      { ms: 30_000, mode: 'flap' },
      { ms: 10_000, mode: 'reset' },
      { ms: 20_000, mode: 'reject' },
      { ms: 10_000, mode: '502' }
    ]
  ],
  [
    '5 min',
    [
      { ms: 120_000, mode: 'old' },
      { ms: 120_000, mode: 'flap' },
      { ms: 60_000, mode: '503' }
    ]
  ]
]

export type RotationKind = 'console password' | 'v3 instance key pair' | 'v2 instance keys'

export interface RotationMeasure {
  /** From the update's end (status running, the rack answering) to the last confirming request. */
  noticeMs: number
  /** From the request that started the update to that confirmation. */
  waitMs: number
  /** Requests during that wait. */
  requests: number
}

export const rotationRequestsPerMinute = (m: RotationMeasure) => m.requests / (m.waitMs / 60_000)

const RACK: FakeRack = {
  name: 'production',
  org: 'acme',
  password: 'rack-password',
  version: '3.24.9',
  status: 'running',
  provider: 'aws',
  region: 'us-east-1'
}

/** Console and its rack answered in memory on `clock`: a cut connection raises ConvoxApi's NetworkError. */
export function simulateConsole(clock: Clock, rack: FakeRack, options: ConsoleRackOptions, latencyMs = 20) {
  const model: ConsoleRackModel = consoleRackModel(rack, options, clock)
  const requests: RecordedRequest[] = []
  const api = {
    host: 'simulated-console',
    async send(request: ApiRequest): Promise<ApiResponse> {
      const body = request.form ? new URLSearchParams(request.form).toString() : ''
      const record: RecordedRequest = {
        time: clock.now(),
        method: request.method,
        path: request.path,
        rack: request.rack,
        body,
        status: 0
      }
      requests.push(record)
      await clock.sleep(latencyMs)
      const fake = { method: request.method, path: request.path, body }
      const outcome = request.path.startsWith('/racks/')
        ? model.handleRecord(fake)!
        : (model.handleProxied(fake) ?? {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: rack.name, status: model.status(), version: rack.version })
          })
      if ('reset' in outcome || 'hang' in outcome)
        throw new NetworkError('reset', true, 'ECONNRESET', 'socket hang up')
      record.status = outcome.status
      return { status: outcome.status, headers: {}, body: outcome.body }
    }
  }
  return { model, requests, api }
}

/** One rotation of `kind` through `phases` on a virtual clock seeded with `seed`. */
export async function simulateRotation(
  kind: RotationKind,
  phases: WindowPhase[],
  seed: number
): Promise<RotationMeasure> {
  const clock = virtualClock(seed)
  const v2 = kind === 'v2 instance keys'
  const rack = { ...RACK, version: v2 ? '20240101000000' : '3.24.9' }
  const windowMs = phases.reduce((sum, p) => sum + p.ms, 0)
  const sim = simulateConsole(clock, rack, { state: true, updateWindow: phases, instancesMs: windowMs })
  const ctx = rotationContext({
    api: sim.api,
    login: {
      kind: v2 ? 'rack' : 'console',
      rack: v2 ? 'production' : 'acme/production',
      rackVersion: rack.version
    },
    timeoutMs: 30 * 60_000,
    retryForMs: 60_000,
    clock,
    log: silentLog,
    naming: INPUT_NAMING,
    forms: []
  })
  const deadline = clock.now() + 30 * 60_000
  if (kind === 'console password') {
    const record = await readRecord(ctx)
    if (!record.ok) throw new Error(record.reason)
    await rotateConsolePassword(ctx, record.value, INPUT_NAMING, deadline)
  } else if (kind === 'v3 instance key pair') {
    const record = await readRecord(ctx)
    if (!record.ok) throw new Error(record.reason)
    const kept: string[] = []
    const store = {
      describe: () => 'memory',
      writeCurrent: async (key: string) => void kept.push(key),
      writeNext: async () => undefined,
      deleteNext: async () => undefined,
      close: () => undefined
    }
    await rollInstancesV3(ctx, record.value, store, deadline)
    if (kept.length !== 1) throw new Error('the private key was not stored once')
  } else {
    await rollInstancesV2(ctx, deadline)
  }
  // The request that started the update: the POST on v2; on v3 the PUT (key_pair_name after the POST).
  const startAt = sim.requests.find(r => r.method === (v2 ? 'POST' : 'PUT'))!.time
  const liveAt = sim.model.record.liveAt!
  const last = sim.requests.at(-1)!
  if (last.time < liveAt) throw new Error('the rotation ended before the update did')
  return {
    noticeMs: last.time - liveAt,
    waitMs: last.time - startAt,
    requests: sim.requests.filter(r => r.time > startAt).length
  }
}
