import { runKeyroll } from '../src/core/keyroll/keyroll.ts'
import { silentLog } from '../src/core/log.ts'
import type { RecordedRequest, WindowPhase } from './fake-convox.ts'
import { simulateRack } from './fake-convox.ts'
import { virtualClock } from './virtual-clock.ts'
import { INPUT_NAMING } from '../src/action/naming.ts'

/**
 * The keyroll windows of issue 3 (what the rack does between the PUT and the new key alone
 * working), and how a keyroll through them is measured: shared by the schedule test, which
 * asserts the targets, and `npm run bench`, which prints the figures.
 */
export const KEYROLL_WINDOWS: Array<[string, WindowPhase[]]> = [
  [
    '5 s',
    [
      { ms: 1500, mode: 'old' },
      { ms: 1500, mode: '503' },
      { ms: 2000, mode: 'reject' }
    ]
  ],
  [
    '30 s',
    [
      { ms: 8000, mode: 'old' },
      { ms: 6000, mode: '502' },
      { ms: 4000, mode: 'reset' },
      { ms: 12000, mode: 'reject' }
    ]
  ],
  [
    '120 s',
    [
      { ms: 30000, mode: 'old' },
      { ms: 20000, mode: '503' },
      { ms: 10000, mode: 'reset' },
      { ms: 40000, mode: 'reject' },
      { ms: 20000, mode: 'both' }
    ]
  ],
  [
    '30 s, flapping keys',
    [
      { ms: 5000, mode: 'old' },
      { ms: 20000, mode: 'flap' },
      { ms: 5000, mode: 'both' }
    ]
  ]
]

export interface KeyrollMeasure {
  /** From the rack taking the new key to the confirming check. */
  noticeMs: number
  /** The wait of step 6: from the PUT to the confirming check. */
  waitMs: number
  /** Requests sent during that wait. */
  requests: number
  puts: number
}

export const requestsPerMinute = (m: KeyrollMeasure) => m.requests / (m.waitMs / 60_000)

/**
 * From the rack's request log. The confirming check is the last request with the new key before
 * the old-key check of step 7.
 */
export function measureKeyroll(
  requests: readonly RecordedRequest[],
  putAt: number,
  liveAt: number,
  oldKey: string
): KeyrollMeasure {
  const oldKeyCheck = requests.findIndex(r => r.time >= liveAt && r.password === oldKey && r.path === '/auth')
  const waiting = requests.slice(0, oldKeyCheck < 0 ? undefined : oldKeyCheck).filter(r => r.time > putAt)
  const noticedAt = waiting.at(-1)!.time
  return {
    noticeMs: noticedAt - liveAt,
    waitMs: noticedAt - putAt,
    requests: waiting.length,
    puts: requests.filter(r => r.method === 'PUT').length
  }
}

/** The real keyroll code against the fake rack's model on a virtual clock: a 120 s window in milliseconds. */
export async function simulateKeyroll(phases: WindowPhase[], seed: number): Promise<KeyrollMeasure> {
  const clock = virtualClock(seed)
  const rack = simulateRack({ clock, keyrollWindow: phases, rack: { password: 'old-key' } })
  const result = await runKeyroll({
    api: rack.api('old-key'),
    kind: 'rack',
    rackVersion: '20240101000000',
    password: 'old-key',
    timeoutMs: 30 * 60_000,
    clock,
    log: silentLog,
    naming: INPUT_NAMING
  })
  if (result.password !== rack.rack.password)
    throw new Error('the keyroll ended on a key the rack does not use')
  return measureKeyroll(rack.requests, rack.keyroll.putAt!, rack.keyroll.liveAt!, 'old-key')
}
