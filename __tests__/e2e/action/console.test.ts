import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import {
  CONSOLE,
  DEPLOY_KEY,
  expectNoLeaks,
  loginTo,
  settingsDir,
  token
} from '../../../test-support/action-login.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { runnerPool } from '../../../test-support/run-action.ts'
import { mode, read } from '../../../test-support/settings-dir.ts'

/**
 * The login step on a Console host, end to end: a CLI token or a deploy key, the switch to
 * org/rack through Console's `Rack:` proxy, a bare rack name, and the RACK_URL and CONVOX_RACK an
 * earlier step left.
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

describe('Console login', () => {
  let console_: FakeConvox
  beforeAll(async () => {
    console_ = await startFakeConvox(CONSOLE)
  })
  afterAll(() => console_.close())

  const sentWith = (password: string) =>
    console_.requests.filter(r => r.password === password).map(r => [r.method, r.path, r.rack])

  it.concurrent('a CLI token switches to org/rack through Console', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(path.join(dir, 'racks'), '{\n  "other.example.com": "other/rack"\n}', { mode: 0o600 })
    const password = token('switch')
    const result = await loginTo(console_, runner, { password, rack: 'acme/production' })
    expect(result.error).toBeUndefined()
    expect(result.code).toBe(0)
    expect(result.outputs).toEqual({
      host: console_.host,
      kind: 'console',
      rack: 'acme/production',
      'rack-version': '3.24.9',
      'rack-status': 'running',
      'rack-provider': 'gcp',
      'user-id': 'user-switch-42',
      'config-dir': dir,
      'token-role': '',
      'token-expires-at': '',
      actor: ''
    })
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'console', 'current', 'host', 'id', 'rack', 'racks'])
    expect(read(dir, 'auth')).toBe(`{\n  "${console_.host}": "${password}"\n}`)
    expect(read(dir, 'host')).toBe(console_.host)
    expect(read(dir, 'console')).toBe(console_.host)
    expect(read(dir, 'id')).toBe('user-switch-42')
    expect(read(dir, 'rack')).toBe('acme/production')
    expect(read(dir, 'racks')).toBe(
      `{\n  "${console_.host}": "acme/production",\n  "other.example.com": "other/rack"\n}`
    )
    expect(read(dir, 'current')).toBe('{"name":"acme/production","type":"console"}')
    for (const file of fs.readdirSync(dir)) expect(mode(path.join(dir, file))).toBe(0o600)

    expect(result.env).toEqual({
      CONVOX_HOST: console_.host,
      CONVOX_PASSWORD: password,
      CONVOX_CONFIG: dir,
      CONVOX_RACK: 'acme/production'
    })
    expect(sentWith(password)).toEqual([
      ['GET', '/auth', undefined],
      ['GET', '/racks', undefined],
      ['GET', '/system', 'acme/production']
    ])
    expect(result.summary).toContain('acme/production')
    expect(result.summary).toContain('3.24.9')
    expectNoLeaks(result, runner, [password], console_.host)
  })

  it.concurrent('a bare rack name resolves when exactly one visible rack has it', async () => {
    const runner = fresh()
    const password = token('bare')
    const result = await loginTo(console_, runner, { password, rack: 'production' })
    expect(result.error).toBeUndefined()
    expect(result.outputs.rack).toBe('acme/production')
    expect(result.env.CONVOX_RACK).toBe('acme/production')
    expect(read(settingsDir(runner), 'rack')).toBe('acme/production')
    expect(sentWith(password).at(-1)).toEqual(['GET', '/system', 'acme/production'])
    expectNoLeaks(result, runner, [password], console_.host)
  })

  it.concurrent('without rack: no rack files, no CONVOX_RACK, no GET /system', async () => {
    const runner = fresh()
    const password = token('norack')
    const result = await loginTo(console_, runner, { password })
    expect(result.error).toBeUndefined()
    expect(result.outputs).toMatchObject({
      kind: 'console',
      rack: '',
      'rack-version': '',
      'user-id': 'user-norack-42'
    })
    expect(fs.readdirSync(settingsDir(runner)).sort()).toEqual(['auth', 'console', 'host', 'id'])
    expect(Object.keys(result.env).sort()).toEqual(['CONVOX_CONFIG', 'CONVOX_HOST', 'CONVOX_PASSWORD'])
    expect(sentWith(password)).toEqual([['GET', '/auth', undefined]])
    expectNoLeaks(result, runner, [password], console_.host)
  })

  it.concurrent('a deploy key is a Console login without a user id', async () => {
    const runner = fresh()
    const result = await loginTo(console_, runner, { password: DEPLOY_KEY, rack: 'acme/production' })
    expect(result.error).toBeUndefined()
    expect(result.outputs).toMatchObject({ kind: 'console', 'user-id': '', rack: 'acme/production' })
    const dir = settingsDir(runner)
    expect(fs.existsSync(path.join(dir, 'id'))).toBe(false)
    // No racks: v2 falls back to rack, and v3 takes racks for a directory of its own.
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'console', 'current', 'host', 'rack'])
    expect(sentWith(DEPLOY_KEY).slice(0, 2)).toEqual([
      ['GET', '/auth', undefined],
      ['GET', '/racks', undefined]
    ])
    expectNoLeaks(result, runner, [DEPLOY_KEY], console_.host)
  })

  it.concurrent('clears a RACK_URL left by an earlier step', async () => {
    const runner = fresh()
    runner.jobEnv.RACK_URL = 'https://convox:EarlierStepKey@old-rack.example.com'
    const password = token('stale-rack')
    const result = await loginTo(console_, runner, { password, rack: 'acme/production' })
    expect(result.error).toBeUndefined()
    expect(result.env.RACK_URL).toBe('')
    expect(result.env.CONVOX_RACK).toBe('acme/production')
    expect(result.stdout).toContain('Clearing RACK_URL left by an earlier step')
    expect(runner.jobEnv.RACK_URL).toBe('')
    expectNoLeaks(result, runner, [password], console_.host)
  })

  it.concurrent('clears RACK_URL and CONVOX_RACK when the new login has no rack', async () => {
    const runner = fresh()
    runner.jobEnv.RACK_URL = 'https://convox:EarlierStepKey@old-rack.example.com'
    runner.jobEnv.CONVOX_RACK = 'old/rack'
    const password = token('stale')
    const result = await loginTo(console_, runner, { password })
    expect(result.error).toBeUndefined()
    expect(result.env).toMatchObject({ RACK_URL: '', CONVOX_RACK: '' })
    expectNoLeaks(result, runner, [password], console_.host)
  })
})
