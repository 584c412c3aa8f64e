import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { secretForms } from '../../../src/core/secrets.ts'
import {
  expectNoLeaks,
  loginTo,
  masked,
  ODD_KEY,
  RACK,
  RACK_KEY,
  settingsDir
} from '../../../test-support/action-login.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { runnerPool, runStepTrustingInputs as step } from '../../../test-support/run-action.ts'
import { mode, read } from '../../../test-support/settings-dir.ts'

/**
 * The login step on a Rack host, end to end: dist/index.cjs runs as a child, as on a runner,
 * against a loopback HTTPS fake Rack. What it writes (settings, outputs, variables, summary), how it
 * masks every form of the key, and the CONVOX_RACK an earlier step left, which a Rack login clears.
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

describe('Rack login', () => {
  let rack: FakeConvox
  let oddRack: FakeConvox
  beforeAll(async () => {
    rack = await startFakeConvox(RACK)
    oddRack = await startFakeConvox({ kind: 'rack', rack: { password: ODD_KEY } })
  })
  afterAll(async () => {
    await rack.close()
    await oddRack.close()
  })

  it.concurrent('writes the settings, outputs, variables and summary for a Rack', async () => {
    const runner = fresh()
    const result = await step(runner, {
      host: `https://${rack.host}/`,
      password: RACK_KEY,
      'ca-cert': rack.caCert
    })
    expect(result.error).toBeUndefined()
    expect(result.code).toBe(0)
    const dir = settingsDir(runner)
    expect(result.outputs).toEqual({
      host: rack.host,
      kind: 'rack',
      rack: 'production',
      'rack-version': '20231115093000',
      'rack-status': 'running',
      'rack-provider': 'aws',
      'user-id': '',
      'config-dir': dir,
      'token-role': '',
      'token-expires-at': '',
      actor: ''
    })
    expect(path.isAbsolute(result.outputs['config-dir']!)).toBe(true)

    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'console', 'host'])
    expect(result.stdout).toContain('\nWrote auth, host, console.\n')
    expect(read(dir, 'auth')).toBe(`{\n  "${rack.host}": "${RACK_KEY}"\n}`)
    expect(read(dir, 'host')).toBe(rack.host)
    expect(read(dir, 'console')).toBe(rack.host)
    expect(mode(dir)).toBe(0o700)
    for (const file of fs.readdirSync(dir)) expect(mode(path.join(dir, file))).toBe(0o600)

    expect(result.env).toEqual({
      CONVOX_HOST: rack.host,
      CONVOX_PASSWORD: RACK_KEY,
      CONVOX_CONFIG: dir,
      RACK_URL: `https://convox:${RACK_KEY}@${rack.host}`
    })
    expect(result.summary).toContain(rack.host)
    expect(result.summary).toContain('<td>Rack</td>')
    expect(result.summary).toContain('20231115093000')
    expect(masked(result.stdout)).toEqual(expect.arrayContaining(secretForms(RACK_KEY, rack.host)))
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('masks every form of a key with characters that URL-encode', async () => {
    const runner = fresh()
    const result = await loginTo(oddRack, runner, { password: ODD_KEY })
    expect(result.error).toBeUndefined()
    const dir = settingsDir(runner)
    // Go's encoder escapes & in the auth file; RACK_URL carries the key percent-encoded.
    expect(read(dir, 'auth')).toBe(`{\n  "${oddRack.host}": "k3y+with/odd=chars\\u0026more"\n}`)
    expect(result.env.RACK_URL).toBe(`https://convox:k3y%2Bwith%2Fodd%3Dchars%26more@${oddRack.host}`)
    expect(result.env.CONVOX_PASSWORD).toBe(ODD_KEY)
    const forms = secretForms(ODD_KEY, oddRack.host)
    expect(forms).toContain('k3y%2Bwith%2Fodd%3Dchars%26more')
    expect(masked(result.stdout)).toEqual(expect.arrayContaining(forms))
    expectNoLeaks(result, runner, [ODD_KEY], oddRack.host)
    // The fake saw the key itself in the Basic credentials.
    expect(oddRack.requests.map(r => r.password)).toEqual([ODD_KEY, ODD_KEY])
  })

  it.concurrent('accepts the expected rack name on a Rack host', async () => {
    const runner = fresh()
    const result = await loginTo(rack, runner, { password: RACK_KEY, rack: 'production' })
    expect(result.error).toBeUndefined()
    expect(result.outputs.rack).toBe('production')
    // A Rack host has no rack files and no CONVOX_RACK: RACK_URL targets it.
    expect(fs.readdirSync(settingsDir(runner)).sort()).toEqual(['auth', 'console', 'host'])
    expect(result.env.CONVOX_RACK).toBeUndefined()
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('export-env: false exports nothing but still writes the settings and outputs', async () => {
    const runner = fresh()
    const result = await loginTo(rack, runner, { password: RACK_KEY, 'export-env': 'false' })
    expect(result.error).toBeUndefined()
    expect(result.env).toEqual({})
    expect(result.outputs.kind).toBe('rack')
    expect(read(settingsDir(runner), 'host')).toBe(rack.host)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('writes into config-dir, creating it and its parents 0700', async () => {
    const runner = fresh()
    const dir = path.join(runner.temp, 'a', 'convox')
    const result = await loginTo(rack, runner, { password: RACK_KEY, 'config-dir': dir })
    expect(result.error).toBeUndefined()
    expect(result.outputs['config-dir']).toBe(dir)
    expect(result.env.CONVOX_CONFIG).toBe(dir)
    expect(mode(path.join(runner.temp, 'a'))).toBe(0o700)
    expect(mode(dir)).toBe(0o700)
    expect(read(dir, 'auth')).toBe(`{\n  "${rack.host}": "${RACK_KEY}"\n}`)
    expect(fs.existsSync(settingsDir(runner))).toBe(false)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })
})

describe('Rack login with a stale CONVOX_RACK', () => {
  it.concurrent('clears CONVOX_RACK, which would send commands to a Console rack', async () => {
    const rack = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      runner.jobEnv.CONVOX_RACK = 'acme/production'
      const result = await loginTo(rack, runner, { password: RACK_KEY })
      expect(result.error).toBeUndefined()
      expect(result.env.CONVOX_RACK).toBe('')
      expect(result.env.RACK_URL).toBe(`https://convox:${RACK_KEY}@${rack.host}`)
      expectNoLeaks(result, runner, [RACK_KEY], rack.host)
    } finally {
      await rack.close()
    }
  })
})
