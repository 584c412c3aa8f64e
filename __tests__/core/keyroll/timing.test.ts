import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { silentLog } from '../../../src/core/log.ts'
import {
  DEFAULT_KEYROLL_TIMING,
  generateRackPassword,
  KeyrollError,
  maxPollDelay,
  pollDelay,
  runKeyroll
} from '../../../src/core/keyroll/keyroll.ts'
import { simulateRack } from '../../../test-support/fake-convox.ts'
import type { KeyrollMeasure } from '../../../test-support/keyroll-windows.ts'
import { KEYROLL_WINDOWS, requestsPerMinute, simulateKeyroll } from '../../../test-support/keyroll-windows.ts'
import { virtualClock } from '../../../test-support/virtual-clock.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

describe('generateRackPassword', () => {
  it('makes 50 letters and digits', () => {
    for (let i = 0; i < 200; i++) expect(generateRackPassword()).toMatch(/^[A-Za-z0-9]{50}$/)
  })

  it('never repeats and uses the whole alphabet', () => {
    const keys = new Set(Array.from({ length: 500 }, () => generateRackPassword()))
    expect(keys.size).toBe(500)
    const seen = new Set([...keys].join(''))
    expect(seen.size).toBe(62)
  })

  it('takes its bytes from the given cryptographic source and drops those that would bias it', () => {
    let n = 0
    let calls = 0
    // Every other byte is 248..255, which would map onto the first eight characters a fifth time:
    // they must be skipped, and the rest taken in order.
    const bytes = (size: number) => {
      calls++
      return Uint8Array.from({ length: size }, () => {
        const i = n++
        return i % 2 === 0 ? 248 + ((i / 2) % 8) : ((i - 1) / 2) % 62
      })
    }
    expect(generateRackPassword(bytes)).toBe(ALPHABET.slice(0, 50))
    expect(calls).toBeGreaterThan(1)
  })

  it('spreads characters evenly (no modulo bias)', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2000; i++)
      for (const c of generateRackPassword(randomBytes)) counts.set(c, (counts.get(c) ?? 0) + 1)
    const expected = (2000 * 50) / 62
    // A modulo-256 bias would put the first eight characters about 25% above the rest.
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.12)
  })
})

describe('pollDelay', () => {
  const timing = DEFAULT_KEYROLL_TIMING

  it('polls every 4.4 to 5.2 s while things go well', () => {
    expect(pollDelay('steady', 0, timing, 0)).toBe(4400)
    expect(pollDelay('steady', 0, timing, 0.99999)).toBe(5199)
  })

  it('confirms a running rack within 1 to 1.8 s', () => {
    expect(pollDelay('confirm', 0, timing, 0)).toBe(1000)
    expect(pollDelay('confirm', 0, timing, 0.99999)).toBe(1799)
  })

  it('backs off with full jitter above the floor, capped', () => {
    const upper = (failures: number) => pollDelay('failed', failures, timing, 0.99999)
    expect(pollDelay('failed', 5, timing, 0)).toBe(4400)
    expect(upper(1)).toBe(5399)
    expect(upper(2)).toBe(6399)
    expect(upper(20)).toBe(6399)
    expect(maxPollDelay(timing)).toBe(6400)
  })

  it('honours Retry-After up to its own cap', () => {
    expect(pollDelay('failed', 1, timing, 0, 5000)).toBe(5000)
    expect(pollDelay('failed', 1, timing, 0, 120_000)).toBe(6400)
    expect(pollDelay('failed', 1, timing, 0.5, 0)).toBe(4900)
  })

  it('keeps the default schedule within the benchmark bounds', () => {
    // Worst time to notice: a failed poll just before the key goes live, then the confirming check.
    expect(maxPollDelay(timing) + timing.confirmMs + timing.pollJitterMs).toBeLessThanOrEqual(8200)
    // Polls a minute outside a confirmation, at the shortest average interval.
    expect(60_000 / (timing.pollMs + timing.pollJitterMs / 2)).toBeLessThan(17)
  })
})

describe('the default schedule on a virtual clock, in the windows the bench reports', () => {
  it.each(KEYROLL_WINDOWS)(
    'notices the key in time and polls gently in a %s window',
    async (_name, window) => {
      const runs: KeyrollMeasure[] = []
      for (let seed = 1; seed <= 40; seed++) runs.push(await simulateKeyroll(window, seed))
      const notice = runs.map(r => r.noticeMs).sort((a, b) => a - b)
      // Never before the rack takes the new key for good: the window's end, or earlier by the
      // phases at its end in which the new key already works.
      const last = [...window].reverse()
      const stillRefusing = last.findIndex(p => p.mode !== 'new' && p.mode !== 'both')
      const acceptingTailMs = last
        .slice(0, stillRefusing < 0 ? last.length : stillRefusing)
        .reduce((sum, p) => sum + p.ms, 0)
      expect(notice[0]).toBeGreaterThanOrEqual(-acceptingTailMs)
      expect(notice[Math.floor(notice.length / 2)]).toBeLessThanOrEqual(5000)
      expect(notice[notice.length - 1]).toBeLessThanOrEqual(10_000)
      for (const run of runs) {
        expect(requestsPerMinute(run)).toBeLessThanOrEqual(20)
        expect(run.puts).toBe(1)
      }
    }
  )
})

describe('a long wait on a virtual clock', () => {
  const timing = DEFAULT_KEYROLL_TIMING
  it('polls gently and reports progress every 30 s until keyroll-timeout', async () => {
    const clock = virtualClock(7)
    const rack = simulateRack({
      clock,
      keyrollWindow: [{ ms: Infinity, mode: 'old' }],
      rack: { password: 'old-key' }
    })
    const lines: Array<{ at: number; message: string }> = []
    const log = { ...silentLog, info: (message: string) => lines.push({ at: clock.now(), message }) }
    const error = await runKeyroll({
      api: rack.api('old-key'),
      kind: 'rack',
      password: 'old-key',
      timeoutMs: 30 * 60_000,
      clock,
      log,
      naming: INPUT_NAMING
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeyrollError)
    expect((error as KeyrollError).message).toMatch(
      /did not finish within 30m \(keyroll-timeout\): the rack is updating/
    )
    const putAt = rack.keyroll.putAt!
    expect(clock.now() - putAt).toBeGreaterThanOrEqual(30 * 60_000)
    expect(clock.now() - putAt).toBeLessThan(30 * 60_000 + 10_000)
    expect(rack.requests.filter(r => r.time >= putAt).length / 30).toBeLessThanOrEqual(20)
    const progress = lines.filter(l =>
      /^Keyroll: .* of 30m waiting for the rack to take the new key/.test(l.message)
    )
    // At least every 30 s, as the issue asks, and never one per poll.
    expect(progress[0]!.at - putAt).toBeLessThanOrEqual(30_000)
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.at - progress[i - 1]!.at).toBeLessThanOrEqual(30_000)
      expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(30_000 - maxPollDelay(timing))
    }
    expect(progress.length).toBeGreaterThanOrEqual(60)
    expect(progress.at(-1)!.message).toMatch(
      /rack updating; new key not accepted yet; last error: new key refused \(401\)/
    )
  })

  it('honours Retry-After from a busy load balancer, within its cap', async () => {
    const clock = virtualClock(3)
    const rack = simulateRack({
      clock,
      keyrollWindow: [{ ms: 20_000, mode: 'old' }],
      rack: { password: 'old-key' }
    })
    rack.fail({ status: 429, retryAfter: '5' }, { path: '/system', method: 'GET', times: 3 })
    await runKeyroll({
      api: rack.api('old-key'),
      kind: 'rack',
      password: 'old-key',
      timeoutMs: 60_000,
      clock,
      log: silentLog,
      naming: INPUT_NAMING
    })
    const limited = rack.requests.filter(r => r.status === 429).map(r => r.time)
    expect(limited).toHaveLength(3)
    // The first 429 is the pre-roll status check; the next two are apart by at least Retry-After.
    expect(limited[2]! - limited[1]!).toBeGreaterThanOrEqual(5000)
  })
})
