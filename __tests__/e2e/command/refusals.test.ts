import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { tokenFor } from '../../../test-support/rack-tokens.ts'
import type { CliResult, Machine } from '../../../test-support/run-cli.ts'
import { cliLeaks, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'

/**
 * Decide before writing: a keyroll the host will refuse, through dist/convox-login.cjs against the
 * loopback fakes. Whatever the refusal, the settings directory, the undo record and the key file
 * are as they were, and stdout holds nothing but the statement that makes an `eval` fail.
 */

const RACK_KEY = 'RefusalRackKey0123456789abcdef'
const CONSOLE_TOKEN = 'RefusalConsoleToken0123456789'
const SIGNING_KEY = 'refusal-signing-key-0123456789'

let consoleHost: FakeConvox
let v3Rack: FakeConvox
let tokenRack: FakeConvox
let v2Rack: FakeConvox
const machines = machinePool()

beforeAll(async () => {
  ;[consoleHost, v3Rack, tokenRack, v2Rack] = await Promise.all([
    startFakeConvox({
      kind: 'console',
      users: [{ token: CONSOLE_TOKEN, id: 'user-9' }],
      racks: [{ org: 'acme', name: 'production' }]
    }),
    startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY, version: '3.24.9' } }),
    startFakeConvox({
      kind: 'rack',
      rack: { password: RACK_KEY, version: '3.24.9' },
      tokens: { signingKey: SIGNING_KEY }
    }),
    startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } })
  ])
})

afterAll(async () => {
  await Promise.all([consoleHost.close(), v3Rack.close(), tokenRack.close(), v2Rack.close()])
  machines.removeAll()
})

/** Everything a login could leave on the machine: the settings, the undo records, the key file. */
function machineState(m: Machine) {
  return {
    settings: snapshot(path.join(m.home, '.convox')),
    state: snapshot(path.join(m.home, '.local')),
    work: fs.readdirSync(m.work)
  }
}

function expectNothingChanged(m: Machine, before: ReturnType<typeof machineState>, result: CliResult) {
  expect(machineState(m)).toEqual(before)
  // The one line an eval needs to fail; no export line, no key.
  expect(result.stdout).toBe('false\n')
}

const requestsWith = (fake: FakeConvox, method: string) => fake.requests.filter(r => r.method === method)

describe('keyroll refused before anything is written', () => {
  it('a Console host: refused after GET /auth says Console, with the settings left absent', async () => {
    const m = machines.fresh()
    const before = machineState(m)
    expect(before.settings).toBe('absent')
    const result = await runCli(
      m,
      ['keyroll', '--host', consoleHost.host, '--next-password-file', path.join(m.work, 'key.next')],
      { env: { CONVOX_PASSWORD: CONSOLE_TOKEN } }
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /convox-login keyroll on a Console login needs --rack naming the rack to rotate/
    )
    expect(result.stderr).not.toMatch(/Logged in|Wrote /)
    expectNothingChanged(m, before, result)
    expect(cliLeaks(result, [CONSOLE_TOKEN], { host: consoleHost.host })).toEqual([])
  })

  it('a v3 rack: refused after GET /system gives its version; earlier settings stay byte for byte', async () => {
    const m = machines.fresh()
    const dir = path.join(m.home, '.convox')
    fs.mkdirSync(dir, { mode: 0o755 })
    fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o644 })
    fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "OtherKey"\n}', { mode: 0o644 })
    const before = machineState(m)
    const result = await runCli(
      m,
      ['keyroll', '--host', v3Rack.host, '--next-password-file', path.join(m.work, 'key.next')],
      { env: { CONVOX_PASSWORD: RACK_KEY } }
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/is a v3 rack \(version 3\.24\.9\) reached directly/)
    expectNothingChanged(m, before, result)
    expect(requestsWith(v3Rack, 'PUT')).toEqual([])
    expect(cliLeaks(result, [RACK_KEY], { host: v3Rack.host })).toEqual([])
  })

  it('a rack access token: a usage error while the flags are read, before any request', async () => {
    const m = machines.fresh()
    const before = machineState(m)
    const sent = tokenRack.requests.length
    const token = tokenFor(SIGNING_KEY, 'rwa', 1)
    const result = await runCli(
      m,
      ['keyroll', '--host', tokenRack.host, '--next-password-file', path.join(m.work, 'key.next')],
      { env: { CONVOX_PASSWORD: token } }
    )
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /^convox-login: convox-login keyroll cannot roll a rack access token: .* or use convox-login login\.\nusage: convox-login keyroll /
    )
    expect(tokenRack.requests.length).toBe(sent)
    expectNothingChanged(m, before, result)
    expect(cliLeaks(result, [token], { host: tokenRack.host })).toEqual([])
  })

  it('no store and no key file: a usage error, nothing sent', async () => {
    const m = machines.fresh()
    const before = machineState(m)
    const sent = v3Rack.requests.length
    const result = await runCli(m, ['keyroll', '--host', v3Rack.host], { env: { CONVOX_PASSWORD: RACK_KEY } })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/A keyroll makes a new key, which needs somewhere to go/)
    expect(v3Rack.requests.length).toBe(sent)
    expectNothingChanged(m, before, result)
  })
})

describe('what a login says is true', () => {
  it('a state file that cannot be written names the state file and its directory, not --config-dir', async () => {
    const m = machines.fresh()
    // XDG_STATE_HOME is a regular file: the record's directory cannot be made under it.
    const stateHome = path.join(m.work, 'state-home')
    fs.writeFileSync(stateHome, '')
    const result = await runCli(m, ['login', '--host', v2Rack.host], {
      env: { CONVOX_PASSWORD: RACK_KEY, XDG_STATE_HOME: stateHome }
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      new RegExp(
        `^convox-login: Cannot write the state file ${stateHome}/convox-login/config-[0-9a-f]{16}\\.json \\(a part of the path is a file, not a directory.*\\): ` +
          `.*its directory ${stateHome}/convox-login must be one you can write \\(it is under HOME, or XDG_STATE_HOME when set\\); or give --state-file F elsewhere\\.$`,
        'm'
      )
    )
    expect(result.stderr).not.toMatch(/config-dir/)
    expect(snapshot(path.join(m.home, '.convox'))).toBe('absent')
    expect(result.stdout).toBe('false\n')
  })

  it('"already held these settings" names only files that exist and held them', async () => {
    const m = machines.fresh()
    const env = { CONVOX_PASSWORD: CONSOLE_TOKEN }
    const args = ['login', '--host', consoleHost.host, '--rack', 'acme/production', '--format', 'none']
    const first = await runCli(m, args, { env })
    expect(first.code).toBe(0)
    const second = await runCli(m, args, { env })
    expect(second.code).toBe(0)
    // No racks file exists (a login does not create one), so it held nothing.
    expect(second.stderr).toContain('\nauth, host, console, id, rack, current already held these settings.\n')
    expect(fs.existsSync(path.join(m.home, '.convox', 'racks'))).toBe(false)
  })
})
