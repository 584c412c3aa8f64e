import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import { expectNoLeaks, RACK, RACK_KEY, settingsDir, token } from '../../../test-support/action-login.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { runnerPool, runStepTrustingInputs as step } from '../../../test-support/run-action.ts'
import { read } from '../../../test-support/settings-dir.ts'

/**
 * The options that change how the API is asked, end to end: `validate: false` (nothing sent) and
 * `insecure: true` (no certificate check, with a warning).
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

describe('validate and TLS options', () => {
  it.concurrent('validate: false sends nothing and writes the settings', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      const result = await step(runner, { host: fake.host, password: RACK_KEY, validate: 'false' })
      expect(result.error).toBeUndefined()
      expect(result.code).toBe(0)
      expect(fake.requests).toEqual([])
      const dir = settingsDir(runner)
      expect(read(dir, 'auth')).toBe(`{\n  "${fake.host}": "${RACK_KEY}"\n}`)
      expect(read(dir, 'host')).toBe(fake.host)
      expect(result.outputs).toMatchObject({
        host: fake.host,
        kind: 'rack',
        'rack-version': '',
        'user-id': ''
      })
      expect(result.env.RACK_URL).toBe(`https://convox:${RACK_KEY}@${fake.host}`)
      expect(result.summary).toContain('no (validate: false)')
      expectNoLeaks(result, runner, [RACK_KEY], fake.host)
    } finally {
      await fake.close()
    }
  })

  it.concurrent('validate: false with org/rack is a Console login with the rack files', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      const password = token('unvalidated')
      const result = await step(runner, {
        host: fake.host,
        password,
        validate: 'false',
        rack: 'acme/production'
      })
      expect(result.error).toBeUndefined()
      expect(fake.requests).toEqual([])
      expect(result.outputs).toMatchObject({ kind: 'console', rack: 'acme/production' })
      expect(result.env.CONVOX_RACK).toBe('acme/production')
      expect(read(settingsDir(runner), 'current')).toBe('{"name":"acme/production","type":"console"}')
      expectNoLeaks(result, runner, [password], fake.host)
    } finally {
      await fake.close()
    }
  })

  it.concurrent(
    'validate: false with a bare rack name on Console fails: only Console could resolve it',
    async () => {
      const runner = fresh()
      const password = token('unvalidated-bare')
      const result = await step(runner, { password, validate: 'false', rack: 'production' })
      expect(result.code).toBe(1)
      expect(result.error).toBe(
        'With validate: false the rack "production" cannot be looked up on console.convox.com: give it as <org>/<rack>, or let the action validate.'
      )
      expect(fs.existsSync(settingsDir(runner))).toBe(false)
      expectNoLeaks(result, runner, [password], 'console.convox.com')
    }
  )

  it.concurrent('insecure: true works without ca-cert and says so in a warning', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      const result = await step(runner, { host: fake.host, password: RACK_KEY, insecure: 'true' })
      expect(result.error).toBeUndefined()
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(
        new RegExp(`^::warning::insecure is true: the TLS certificate of ${fake.host} is not verified`, 'm')
      )
      expect(fake.requests.map(r => r.path)).toEqual(['/auth', '/system'])
      expectNoLeaks(result, runner, [RACK_KEY], fake.host)
    } finally {
      await fake.close()
    }
  })
})
