import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ApiRequest, ApiResponse } from '../../../src/core/api.ts'
import { ConvoxApi, NetworkError } from '../../../src/core/api.ts'
import type { Clock } from '../../../src/core/clock.ts'
import type { Log } from '../../../src/core/log.ts'
import {
  DEFAULT_BACKOFF,
  fullJitterDelay,
  isTransientStatus,
  parseRetryAfter,
  sendWithRetry
} from '../../../src/core/http/retry.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { closedPort } from '../../../test-support/tls.ts'

/** Virtual time: sleeping moves the clock, nothing waits. */
function virtualClock(random = 0.5): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: 1_000_000,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms)
      clock.t += ms
    },
    random: () => random
  }
  return clock
}

function collectingLog(): Log & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: m => void lines.push(m),
    warning: m => void lines.push(`warning: ${m}`),
    debug: () => undefined,
    secret: () => undefined,
    group: (_name, fn) => fn()
  }
}

type Outcome = ApiResponse | NetworkError

/** A ConvoxApi stand-in that answers from a script and records each request; each answer takes `latencyMs`. */
function scriptedApi(script: Outcome[], clock: ReturnType<typeof virtualClock>, latencyMs = 100) {
  const sent: ApiRequest[] = []
  const api = {
    host: 'rack.example.com',
    async send(request: ApiRequest): Promise<ApiResponse> {
      sent.push(request)
      clock.t += latencyMs
      const next = script.shift()
      if (!next) throw new Error('the script ran out')
      if (next instanceof NetworkError) throw next
      return next
    }
  }
  return { api: api as unknown as ConvoxApi, sent }
}

const answer = (status: number, headers: Record<string, string> = {}, body = ''): ApiResponse => ({
  status,
  headers,
  body
})
const refused = () => new NetworkError('refused', true, 'ECONNREFUSED', 'connect ECONNREFUSED')
const get: ApiRequest = { method: 'GET', path: '/auth' }

describe('isTransientStatus', () => {
  it.each([
    [500, true],
    [502, true],
    [503, true],
    [429, true],
    [200, false],
    [401, false],
    [404, false],
    [400, false]
  ])('%i -> %s', (status, transient) => {
    expect(isTransientStatus(status)).toBe(transient)
  })
})

describe('fullJitterDelay', () => {
  it('is 0 at random 0 and below the ceiling just under random 1', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** attempt)
      expect(fullJitterDelay(attempt, DEFAULT_BACKOFF, 0)).toBe(0)
      const top = fullJitterDelay(attempt, DEFAULT_BACKOFF, 0.999999)
      expect(top).toBeLessThan(ceiling)
      expect(top).toBeGreaterThanOrEqual(ceiling - 1)
    }
  })

  it('doubles with each attempt until the cap', () => {
    const backoff = { baseMs: 100, capMs: 1000 }
    expect([0, 1, 2, 3, 4, 5, 20].map(a => fullJitterDelay(a, backoff, 0.5))).toEqual([
      50, 100, 200, 400, 500, 500, 500
    ])
  })

  it('stays within [0, ceiling) for any random value', () => {
    const backoff = { baseMs: 500, capMs: 10_000 }
    const outside: string[] = []
    for (let i = 0; i < 1000; i++) {
      const attempt = i % 12
      const random = Math.random()
      const delay = fullJitterDelay(attempt, backoff, random)
      const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt)
      if (!(delay >= 0 && delay < ceiling && Number.isInteger(delay)))
        outside.push(`${attempt} ${random} ${delay}`)
    }
    expect(outside).toEqual([])
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z')

  it.each([
    ['1', 1000],
    ['0', 0],
    ['120', 120_000],
    [' 7 ', 7000],
    [['2', '9'], 2000]
  ])('reads seconds %j', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })

  it('reads an HTTP date as the time until then', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000)
  })

  it('reads an HTTP date in the past as 0', () => {
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0)
  })

  it.each([undefined, '', 'soon', []])('is undefined for %j', value => {
    expect(parseRetryAfter(value as string | string[] | undefined, now)).toBeUndefined()
  })
})

describe('sendWithRetry (virtual clock)', () => {
  it('returns the first answer that is not transient, without retrying', async () => {
    for (const status of [200, 401, 404]) {
      const clock = virtualClock()
      const log = collectingLog()
      const { api, sent } = scriptedApi([answer(status), answer(200)], clock)
      const response = await sendWithRetry(api, get, { budgetMs: 60_000, clock, log })
      expect(response.status).toBe(status)
      expect(sent).toHaveLength(1)
      expect(clock.sleeps).toEqual([])
      expect(log.lines).toEqual([])
    }
  })

  it('retries 5xx and network errors with full jitter, one log line per retry', async () => {
    const clock = virtualClock(0.5)
    const log = collectingLog()
    const { api, sent } = scriptedApi([answer(503), refused(), answer(502), answer(200, {}, 'ok\n')], clock)
    const response = await sendWithRetry(api, get, {
      budgetMs: 60_000,
      clock,
      log,
      backoff: { baseMs: 1000, capMs: 3000 }
    })
    expect(response).toEqual(answer(200, {}, 'ok\n'))
    expect(sent).toHaveLength(4)
    expect(clock.sleeps).toEqual([500, 1000, 1500])
    expect(log.lines).toEqual([
      expect.stringMatching(
        /^GET \/auth on rack\.example\.com: HTTP 503; retry 1 in 0\.5s \(0\.1s of 1m spent\)$/
      ),
      expect.stringMatching(/: connection refused; retry 2 in 1s /),
      expect.stringMatching(/: HTTP 502; retry 3 in 1\.5s /)
    ])
  })

  it('honours Retry-After instead of the backoff', async () => {
    const clock = virtualClock(0)
    const log = collectingLog()
    const { api } = scriptedApi([answer(429, { 'retry-after': '7' }), answer(200)], clock)
    await sendWithRetry(api, get, { budgetMs: 60_000, clock, log })
    expect(clock.sleeps).toEqual([7000])
    expect(log.lines).toEqual([expect.stringMatching(/HTTP 429; retry 1 in 7s/)])
  })

  it.each([
    ['0', '0'],
    ['a date in the past', 'Thu, 01 Jan 1970 00:00:00 GMT'] // the virtual clock starts 1000 s after it
  ])(
    'a Retry-After of %s waits at least a second, or the backoff when that is longer',
    async (_what, value) => {
      const clock = virtualClock(0.9)
      const script = Array.from({ length: 8 }, () => answer(503, { 'retry-after': value }))
      const { api, sent } = scriptedApi([...script, answer(200)], clock)
      await sendWithRetry(api, get, { budgetMs: 60_000, clock, log: collectingLog() })
      expect(sent).toHaveLength(9)
      // Full jitter at 0.9 of 500 ms, 1 s, 2 s, 4 s, ... capped at 10 s.
      expect(clock.sleeps).toEqual([1000, 1000, 1800, 3600, 7200, 9000, 9000, 9000])
    }
  )

  it('a Retry-After: 0 storm: a 10 s retry-for sends at most 11 requests', async () => {
    const clock = virtualClock(0)
    const script = Array.from({ length: 100 }, () => answer(503, { 'retry-after': '0' }))
    const { api, sent } = scriptedApi(script, clock)
    await sendWithRetry(api, get, { budgetMs: 10_000, clock, log: collectingLog() })
    expect(sent.length).toBeLessThanOrEqual(11)
  })

  it('returns the last transient answer when the next wait would pass the budget', async () => {
    const clock = virtualClock(0.5)
    const log = collectingLog()
    const script = Array.from({ length: 50 }, () => answer(503, {}, 'unavailable'))
    const { api, sent } = scriptedApi(script, clock)
    const start = clock.now()
    const response = await sendWithRetry(api, get, {
      budgetMs: 5000,
      clock,
      log,
      backoff: { baseMs: 1000, capMs: 1000 }
    })
    expect(response.status).toBe(503)
    expect(clock.now() - start).toBeLessThanOrEqual(5000)
    // 100 ms per request, 500 ms per wait: 0.1, 0.6+0.1, ... until the next wait passes 5 s.
    expect(sent).toHaveLength(9)
    expect(log.lines).toHaveLength(8)
  })

  it('a Retry-After longer than the budget ends the retries at once', async () => {
    const clock = virtualClock()
    const { api, sent } = scriptedApi([answer(503, { 'retry-after': '120' }), answer(200)], clock)
    const response = await sendWithRetry(api, get, { budgetMs: 60_000, clock, log: collectingLog() })
    expect(response.status).toBe(503)
    expect(sent).toHaveLength(1)
    expect(clock.sleeps).toEqual([])
  })

  it('throws the last network error when no answer came within the budget', async () => {
    const clock = virtualClock(0.5)
    const { api, sent } = scriptedApi(
      Array.from({ length: 50 }, () => refused()),
      clock
    )
    await expect(
      sendWithRetry(api, get, {
        budgetMs: 2000,
        clock,
        log: collectingLog(),
        backoff: { baseMs: 400, capMs: 400 }
      })
    ).rejects.toMatchObject({ name: 'NetworkError', kind: 'refused' })
    expect(sent.length).toBeGreaterThan(1)
  })

  it('does not retry a DNS or TLS failure', async () => {
    for (const error of [
      new NetworkError('dns', false, 'ENOTFOUND', 'getaddrinfo ENOTFOUND'),
      new NetworkError('tls', false, 'SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate')
    ]) {
      const clock = virtualClock()
      const log = collectingLog()
      const { api, sent } = scriptedApi([error, answer(200)], clock)
      await expect(sendWithRetry(api, get, { budgetMs: 60_000, clock, log })).rejects.toBe(error)
      expect(sent).toHaveLength(1)
      expect(log.lines).toEqual([])
    }
  })

  it('does not retry an error that is not a NetworkError', async () => {
    const clock = virtualClock()
    const { api } = scriptedApi([], clock)
    await expect(sendWithRetry(api, get, { budgetMs: 60_000, clock, log: collectingLog() })).rejects.toThrow(
      'the script ran out'
    )
  })

  it('gives each attempt a timeout between 2 s and 15 s, from what is left of the budget', async () => {
    const clock = virtualClock(0)
    const { api, sent } = scriptedApi([answer(503), answer(200)], clock)
    await sendWithRetry(api, get, { budgetMs: 60_000, clock, log: collectingLog() })
    expect(sent[0]!.timeoutMs).toBe(15_000)
    const short = virtualClock(0)
    const second = scriptedApi([answer(503), answer(503), answer(200)], short, 0)
    await sendWithRetry(second.api, get, { budgetMs: 500, clock: short, log: collectingLog() })
    expect(second.sent.map(r => r.timeoutMs)).toEqual([2000, 2000, 2000])
    const own = scriptedApi([answer(200)], short)
    await sendWithRetry(
      own.api,
      { ...get, timeoutMs: 123 },
      { budgetMs: 500, clock: short, log: collectingLog() }
    )
    expect(own.sent[0]!.timeoutMs).toBe(123)
  })
})

describe('sendWithRetry against the fake Rack over HTTPS', () => {
  let fake: FakeConvox
  beforeAll(async () => {
    fake = await startFakeConvox({ kind: 'rack', rack: { password: 'RetryTestKey123' } })
  })
  afterAll(() => fake.close())

  it('gets through two 503s and a reset', async () => {
    fake.fail({ status: 503 }, { path: '/system', times: 2 })
    fake.fail({ reset: true }, { path: '/system', times: 1 })
    const api = ConvoxApi.create(fake.host, 'RetryTestKey123', { caCert: fake.caCert, insecure: false })
    const clock = virtualClock(0.5)
    const log = collectingLog()
    try {
      const before = fake.requests.length
      const response = await sendWithRetry(
        api,
        { method: 'GET', path: '/system' },
        { budgetMs: 60_000, clock, log }
      )
      expect(response.status).toBe(200)
      expect(JSON.parse(response.body)).toMatchObject({ name: 'production', status: 'running' })
      expect(fake.requests.slice(before).map(r => r.status)).toEqual([503, 503, 0, 200])
      expect(log.lines).toEqual([
        expect.stringMatching(/HTTP 503; retry 1/),
        expect.stringMatching(/HTTP 503; retry 2/),
        expect.stringMatching(/connection reset; retry 3/)
      ])
    } finally {
      api.close()
    }
  })

  it('throws a refused NetworkError for a closed port once the budget is spent', async () => {
    const port = await closedPort()
    const api = ConvoxApi.create(`127.0.0.1:${port}`, 'k', { caCert: fake.caCert, insecure: false })
    const clock = virtualClock(0.5)
    try {
      await expect(
        sendWithRetry(api, { method: 'GET', path: '/auth' }, { budgetMs: 3000, clock, log: collectingLog() })
      ).rejects.toMatchObject({ kind: 'refused', transient: true, code: 'ECONNREFUSED' })
      expect(clock.sleeps.length).toBeGreaterThan(0)
    } finally {
      api.close()
    }
  })
})
