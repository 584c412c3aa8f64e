import { afterAll, describe, expect, it } from '@jest/globals'
import { expectNoLeaks, RACK, RACK_KEY, WRONG_KEY } from '../../../test-support/action-login.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { runnerPool, runStepTrustingInputs as step } from '../../../test-support/run-action.ts'

/**
 * Retries against a loopback fake Rack: transient answers are retried with one line each, a
 * Retry-After is honoured, and a 401 is an answer, not retried.
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

describe('retries', () => {
  it.concurrent('503 twice, then success: logs one line per retry', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      fake.fail({ status: 503 }, { path: '/auth', times: 2 })
      const runner = fresh()
      const result = await step(runner, { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert })
      expect(result.error).toBeUndefined()
      expect(result.code).toBe(0)
      const retries = result.stdout.split('\n').filter(l => /; retry \d+ in /.test(l))
      expect(retries).toEqual([
        expect.stringMatching(new RegExp(`^GET /auth on ${fake.host}: HTTP 503; retry 1 in `)),
        expect.stringMatching(new RegExp(`^GET /auth on ${fake.host}: HTTP 503; retry 2 in `))
      ])
      expect(fake.requests.map(r => `${r.path} ${r.status}`)).toEqual([
        '/auth 503',
        '/auth 503',
        '/auth 200',
        '/system 200'
      ])
      expectNoLeaks(result, runner, [RACK_KEY], fake.host)
    } finally {
      await fake.close()
    }
  })

  it.concurrent('429 with Retry-After: 1 waits one second', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      fake.fail({ status: 429, retryAfter: '1' }, { path: '/system', times: 1 })
      const runner = fresh()
      const result = await step(runner, { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert })
      expect(result.error).toBeUndefined()
      expect(result.stdout).toMatch(/GET \/system on \S+: HTTP 429; retry 1 in 1s /)
      const systems = fake.requests.filter(r => r.path === '/system')
      expect(systems.map(r => r.status)).toEqual([429, 200])
      expect(systems[1]!.time - systems[0]!.time).toBeGreaterThanOrEqual(950)
      expectNoLeaks(result, runner, [RACK_KEY], fake.host)
    } finally {
      await fake.close()
    }
  })

  it.concurrent('a 401 is an answer, not retried: one GET /auth and one GET /racks', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      const result = await step(runner, { host: fake.host, password: WRONG_KEY, 'ca-cert': fake.caCert })
      expect(result.code).toBe(1)
      expect(result.error).toMatch(/rejected the password/)
      expect(fake.requests.map(r => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'GET /auth 401',
        'GET /racks 401'
      ])
      expect(result.stdout).not.toMatch(/; retry \d/)
      expectNoLeaks(result, runner, [WRONG_KEY], fake.host)
    } finally {
      await fake.close()
    }
  })
})
