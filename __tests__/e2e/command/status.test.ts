import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { rackUrl } from '../../../src/core/secrets.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { CliResult, Machine } from '../../../test-support/run-cli.ts'
import { cliLeaks, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'

/**
 * convox-login status through dist/convox-login.cjs: what the settings and the environment point
 * the CLIs to, which variable wins over which file, the undo record, and with --validate what the
 * loopback Rack or Console says. It writes nothing and never prints a form of any key.
 */

const RACK_KEY = 'StatusRackKey0123456789abcdefgh'
const OTHER_KEY = 'StatusOtherKey9876543210zyxwvu'
const CONSOLE_TOKEN = 'StatusConsoleToken0123456789ab'

let rack: FakeConvox
let consoleHost: FakeConvox
const machines = machinePool()

beforeAll(async () => {
  ;[rack, consoleHost] = await Promise.all([
    startFakeConvox({ kind: 'rack', rack: { name: 'production', password: RACK_KEY } }),
    startFakeConvox({
      kind: 'console',
      users: [{ token: CONSOLE_TOKEN, id: 'user-5' }],
      racks: [{ org: 'acme', name: 'production' }]
    })
  ])
})

afterAll(async () => {
  await Promise.all([rack.close(), consoleHost.close()])
  machines.removeAll()
})

const line = (result: CliResult, name: string) =>
  result.stdout.split('\n').find(l => l.startsWith(name.padEnd(12))) ?? ''

function expectNoKey(result: CliResult, host = rack.host) {
  expect(cliLeaks(result, [RACK_KEY, OTHER_KEY, CONSOLE_TOKEN], { host })).toEqual([])
}

async function loggedIn(m: Machine, args: string[] = ['--host', rack.host], key = RACK_KEY) {
  const login = await runCli(m, ['login', ...args, '--format', 'none'], { env: { CONVOX_PASSWORD: key } })
  expect(login.code).toBe(0)
}

describe('convox-login status', () => {
  it('not logged in: exit 1, says so, writes nothing', async () => {
    const m = machines.fresh()
    const result = await runCli(m, ['status'])
    expect(result.code).toBe(1)
    expect(line(result, 'host')).toMatch(/none/)
    expect(result.stderr).toMatch(/^Not logged in: run convox-login login/m)
    expect(fs.readdirSync(m.home)).toEqual([])
  })

  it('after a login: the host from the files, the key from auth (not shown), the undo record', async () => {
    const m = machines.fresh()
    await loggedIn(m)
    const before = snapshot(path.join(m.home, '.convox'))
    const result = await runCli(m, ['status'])
    expect(result.code).toBe(0)
    expect(line(result, 'host')).toBe(`host        ${rack.host} (the console file)`)
    expect(line(result, 'key')).toBe(
      `key         set, user convox, not shown (the auth entry for ${rack.host})`
    )
    expect(line(result, 'config dir')).toContain(path.join(m.home, '.convox'))
    expect(line(result, 'undo record')).toMatch(
      /^undo record 1 login recorded in .*: convox-login logout undoes the last$/
    )
    expect(snapshot(path.join(m.home, '.convox'))).toEqual(before)
    expectNoKey(result)
  })

  it('variables win over files, and say which file they beat', async () => {
    const m = machines.fresh()
    await loggedIn(m)
    const result = await runCli(m, ['status'], {
      env: { CONVOX_HOST: 'elsewhere.example.com', CONVOX_PASSWORD: OTHER_KEY, CONVOX_RACK: 'acme/staging' }
    })
    expect(result.code).toBe(0)
    expect(line(result, 'host')).toBe(
      `host        elsewhere.example.com (CONVOX_HOST; over console file: ${rack.host})`
    )
    expect(line(result, 'key')).toBe('key         set, user convox, not shown (CONVOX_PASSWORD)')
    expect(line(result, 'rack')).toBe('rack        acme/staging (CONVOX_RACK)')
    expectNoKey(result)
  })

  it('RACK_URL beats everything, and its key is never shown in any form', async () => {
    const m = machines.fresh()
    await loggedIn(m)
    const result = await runCli(m, ['status', '--validate'], {
      env: {
        RACK_URL: rackUrl(rack.host, RACK_KEY),
        CONVOX_HOST: 'elsewhere.example.com',
        CONVOX_RACK: 'acme/x'
      }
    })
    expect(result.code).toBe(0)
    expect(line(result, 'host')).toMatch(
      new RegExp(
        `^host        ${rack.host.replace(/\./g, '\\.')} \\(RACK_URL; over CONVOX_HOST: elsewhere\\.example\\.com, console file`
      )
    )
    expect(line(result, 'rack')).toMatch(
      /\(RACK_URL \(the rack at that host, directly\); over CONVOX_RACK: acme\/x/
    )
    expect(line(result, 'kind')).toMatch(/^kind        rack, checked: /)
    expectNoKey(result)
  })

  it('--validate asks the API: a Console and its rack, exit 0', async () => {
    const m = machines.fresh()
    await loggedIn(m, ['--host', consoleHost.host, '--rack', 'acme/production'], CONSOLE_TOKEN)
    const result = await runCli(m, ['status', '--validate'])
    expect(result.code).toBe(0)
    expect(line(result, 'rack')).toMatch(/^rack        acme\/production \(rack file/)
    expect(line(result, 'kind')).toMatch(
      /^kind        console, checked: .*rack acme\/production through Console/
    )
    expectNoKey(result, consoleHost.host)
  })

  it('--validate with a key the rack refuses: exit 1, the reason, no key', async () => {
    const m = machines.fresh()
    await loggedIn(m)
    const result = await runCli(m, ['status', '--validate'], {
      env: { CONVOX_HOST: rack.host, CONVOX_PASSWORD: OTHER_KEY }
    })
    expect(result.code).toBe(1)
    expect(line(result, 'kind')).toMatch(/^kind        not confirmed: /)
    expect(result.stderr).toMatch(/Not logged in: .* did not accept the key/)
    expectNoKey(result)
  })

  it('a flag it does not take is a usage error (exit 2) with no eval statement', async () => {
    const result = await runCli(machines.fresh(), ['status', '--format', 'sh'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('usage: convox-login status')
  })
})
