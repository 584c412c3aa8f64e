import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeConvox, FakeConvoxOptions } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import {
  filesContaining,
  findLeaks,
  runnerPool,
  runStepTrustingInputs
} from '../../../test-support/run-action.ts'
import { mode, read, snapshot } from '../../../test-support/settings-dir.ts'
import { closedPort, listenOnLoopback } from '../../../test-support/tls.ts'

/**
 * The login step end to end: dist/index.cjs runs as a child, as on a runner, against loopback
 * HTTPS fakes of a Rack, a Console and a host that is not Convox. Every scenario, success or
 * failure, also checks that no form of the key reaches the log, the summary or the workspace.
 */

// Made-up keys. Rack keys are letters; a Console token or a hand-made key may hold anything.
const RACK_KEY = 'RackKeyQwErTyUiOpAsDfGhJkL'
const ODD_KEY = 'k3y+with/odd=chars&more'
const WRONG_KEY = 'NotTheRackKeyZxCvBnMqWeRt'
const DEPLOY_KEY = 'deploy_0123456789abcdef0123456789abcdef'
const EXPIRED_TOKEN = 'ExpiredCliTokenAaaBbbCccDdd'
const MFA_TOKEN = 'MfaCliTokenEeeFffGggHhh111'
/** One Console CLI token per scenario, so each can pick its own requests out of the shared fake. */
const token = (scenario: string) => `CliToken-${scenario}-9f8e7d6c5b4a`
const USERS = ['switch', 'bare', 'ambiguous', 'unknown', 'stale', 'stale-rack', 'norack'].map(s => ({
  token: token(s),
  id: `user-${s}-42`
}))

const CONSOLE: FakeConvoxOptions = {
  kind: 'console',
  users: [
    ...USERS,
    { token: EXPIRED_TOKEN, id: 'u-exp', expired: true },
    { token: MFA_TOKEN, id: 'u-mfa', mfa: true }
  ],
  deployKeys: [DEPLOY_KEY],
  racks: [
    { org: 'acme', name: 'production', version: '3.24.9', provider: 'gcp', status: 'running' },
    { org: 'acme', name: 'staging' },
    { org: 'other', name: 'staging' },
    { org: 'other', name: 'qa' }
  ]
}
const RACK: FakeConvoxOptions = {
  kind: 'rack',
  rack: {
    name: 'production',
    password: RACK_KEY,
    version: '20231115093000',
    status: 'running',
    provider: 'aws'
  }
}

/** The content of other hosts' logins that a failure must leave alone (as the Go CLI writes it). */
const OTHER_AUTH = '{\n  "other.example.com": "x\\u0026y"\n}'

const step = runStepTrustingInputs

const settingsDir = (runner: Runner) => path.join(runner.home, '.convox')

/** Seeds a settings directory as an earlier login to another host left it. */
function seedOtherLogin(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(dir, 'auth'), OTHER_AUTH, { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o644 })
  fs.writeFileSync(path.join(dir, 'console'), 'other.example.com', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'rack'), 'acme/old\n', { mode: 0o600 })
}

/** The values the step asked the runner to mask, decoded as the runner decodes them. */
function masked(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(l => l.startsWith('::add-mask::'))
    .map(l => l.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

/** The leak rule for one step: log, summary, outputs and workspace hold no form of the secrets. */
function expectNoLeaks(result: StepResult, runner: Runner, secrets: readonly string[], host?: string): void {
  const real = secrets.filter(Boolean)
  expect(findLeaks(result, real, { host })).toEqual([])
  expect(filesContaining(runner.workspace, real)).toEqual([])
  const forms = real.flatMap(s => secretForms(s, host))
  for (const form of forms) {
    expect(result.summary).not.toContain(form)
    expect(result.error ?? '').not.toContain(form)
    for (const [name, value] of Object.entries(result.outputs)) {
      if (name !== 'password') expect(value).not.toContain(form)
    }
  }
}

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
    const result = await step(runner, { host: oddRack.host, password: ODD_KEY, 'ca-cert': oddRack.caCert })
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
    const result = await step(runner, {
      host: rack.host,
      password: RACK_KEY,
      rack: 'production',
      'ca-cert': rack.caCert
    })
    expect(result.error).toBeUndefined()
    expect(result.outputs.rack).toBe('production')
    // A Rack host has no rack files and no CONVOX_RACK: RACK_URL targets it.
    expect(fs.readdirSync(settingsDir(runner)).sort()).toEqual(['auth', 'console', 'host'])
    expect(result.env.CONVOX_RACK).toBeUndefined()
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('export-env: false exports nothing but still writes the settings and outputs', async () => {
    const runner = fresh()
    const result = await step(runner, {
      host: rack.host,
      password: RACK_KEY,
      'ca-cert': rack.caCert,
      'export-env': 'false'
    })
    expect(result.error).toBeUndefined()
    expect(result.env).toEqual({})
    expect(result.outputs.kind).toBe('rack')
    expect(read(settingsDir(runner), 'host')).toBe(rack.host)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('writes into config-dir, creating it and its parents 0700', async () => {
    const runner = fresh()
    const dir = path.join(runner.temp, 'a', 'convox')
    const result = await step(runner, {
      host: rack.host,
      password: RACK_KEY,
      'ca-cert': rack.caCert,
      'config-dir': dir
    })
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
    const result = await step(runner, {
      host: console_.host,
      password,
      rack: 'acme/production',
      'ca-cert': console_.caCert
    })
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
    const result = await step(runner, {
      host: console_.host,
      password,
      rack: 'production',
      'ca-cert': console_.caCert
    })
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
    const result = await step(runner, { host: console_.host, password, 'ca-cert': console_.caCert })
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
    const result = await step(runner, {
      host: console_.host,
      password: DEPLOY_KEY,
      rack: 'acme/production',
      'ca-cert': console_.caCert
    })
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
    const result = await step(runner, {
      host: console_.host,
      password,
      rack: 'acme/production',
      'ca-cert': console_.caCert
    })
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
    const result = await step(runner, { host: console_.host, password, 'ca-cert': console_.caCert })
    expect(result.error).toBeUndefined()
    expect(result.env).toMatchObject({ RACK_URL: '', CONVOX_RACK: '' })
    expectNoLeaks(result, runner, [password], console_.host)
  })
})

describe('Rack login with a stale CONVOX_RACK', () => {
  it.concurrent('clears CONVOX_RACK, which would send commands to a Console rack', async () => {
    const rack = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      runner.jobEnv.CONVOX_RACK = 'acme/production'
      const result = await step(runner, { host: rack.host, password: RACK_KEY, 'ca-cert': rack.caCert })
      expect(result.error).toBeUndefined()
      expect(result.env.CONVOX_RACK).toBe('')
      expect(result.env.RACK_URL).toBe(`https://convox:${RACK_KEY}@${rack.host}`)
      expectNoLeaks(result, runner, [RACK_KEY], rack.host)
    } finally {
      await rack.close()
    }
  })
})

interface Prepared {
  inputs: Record<string, string>
  /** The normalised host the message must name. */
  host: string
  env?: Record<string, string>
  /** A fake of this run alone, closed afterwards; its requests are checked when `noRequests`. */
  own?: Pick<FakeConvox, 'close'> & Partial<FakeConvox>
}

interface FailureCase {
  name: string
  message: RegExp
  prepare: () => Promise<Prepared>
  /** The message names the settings file instead of the host. */
  namesFile?: boolean
  noRequests?: boolean
  /** Seeds the settings directory itself (instead of running with it absent and with another login in it). */
  seed?: (dir: string, runner: Runner) => void
}

describe('failures: one sentence naming host and cause, exit 1, settings untouched, nothing leaked', () => {
  let rack: FakeConvox
  let console_: FakeConvox
  let notConvox: FakeConvox
  let plainHttp: { port: number; close: () => Promise<void> }
  beforeAll(async () => {
    ;[rack, console_, notConvox, plainHttp] = await Promise.all([
      startFakeConvox(RACK),
      startFakeConvox(CONSOLE),
      startFakeConvox({ kind: 'not-convox' }),
      listenOnLoopback(
        http.createServer((_req, res) => res.end('plain')) as unknown as import('node:https').Server
      )
    ])
  })
  afterAll(async () => {
    await Promise.all([rack.close(), console_.close(), notConvox.close(), plainHttp.close()])
  })

  const onRack = (inputs: Record<string, string> = {}): Promise<Prepared> =>
    Promise.resolve({
      inputs: { host: rack.host, password: RACK_KEY, 'ca-cert': rack.caCert, ...inputs },
      host: rack.host
    })
  const onConsole = (password: string, inputs: Record<string, string> = {}): Promise<Prepared> =>
    Promise.resolve({
      inputs: { host: console_.host, password, 'ca-cert': console_.caCert, ...inputs },
      host: console_.host
    })
  const withOwnRack = async (fault: (fake: FakeConvox) => void, inputs: Record<string, string> = {}) => {
    const own = await startFakeConvox(RACK)
    fault(own)
    return {
      inputs: { host: own.host, password: RACK_KEY, 'ca-cert': own.caCert, ...inputs },
      host: own.host,
      own
    }
  }

  const withOwnConsole = async (fault: (fake: FakeConvox) => void) => {
    const own = await startFakeConvox(CONSOLE)
    fault(own)
    return {
      inputs: { host: own.host, password: token('switch'), rack: 'acme/production', 'ca-cert': own.caCert },
      host: own.host,
      own
    }
  }
  /** A 200 whose body is not what a Convox API sends; the fault names the path. */
  const answers200 = (path: string, body: string) => (fake: FakeConvox) =>
    fake.fail({ status: 200, body, headers: { 'Content-Type': 'application/json' } }, { path })
  const notARack =
    /did not answer GET \/system like a Convox rack \((not a JSON object|no string name and status)\): check the host input/
  const notAConsole =
    /did not answer GET \/racks like a Convox Console \((not a JSON list of racks|entry \d+ is not a rack with a name and an organization)\): check the host input/

  const cases: FailureCase[] = [
    ...[
      'null',
      '[]',
      '"production"',
      'not json',
      '{"name":"production"}',
      '{"name":5,"status":"running"}',
      '{"name":"production","status":"running","version":[1]}'
    ].map(body => ({
      name: `a GET /system answer that is not a rack (${body})`,
      message: notARack,
      prepare: () => withOwnRack(answers200('/system', body))
    })),
    ...[
      '{}',
      '[null]',
      '[{"name":"production"}]',
      '[{"name":"production","organization":null}]',
      '[{"name":"x","organization":{"name":"acme"},"status":7}]'
    ].map(body => ({
      name: `a GET /racks answer that is not a list of racks (${body})`,
      message: notAConsole,
      prepare: () => withOwnConsole(answers200('/racks', body))
    })),
    {
      name: 'a GET /system through Console that is not a rack',
      message:
        /did not answer GET \/system for rack acme\/production like a Convox rack \(not a JSON object\)/,
      prepare: () => withOwnConsole(answers200('/system', '[]'))
    },
    {
      name: 'a redirect',
      message:
        /answered GET \/auth with a redirect \(HTTP 301\) to https:\/\/login\.example\.com\/sso \*\*\* ::warning::x; the Convox API answers on its own host: set the host input to the API host/,
      prepare: () =>
        withOwnRack(fake =>
          fake.fail({
            status: 301,
            headers: { Location: `https://login.example.com/sso ${RACK_KEY} ::warning::x` }
          })
        )
    },
    {
      name: 'a rejected key (401)',
      message:
        /^(\S+) rejected the password \(401 invalid authentication\): check that the secret holds the current Rack API key/,
      prepare: () => onRack({ password: WRONG_KEY })
    },
    {
      name: 'an expired Console token',
      message: /says the Console CLI token has expired: create a new one/,
      prepare: () => onConsole(EXPIRED_TOKEN)
    },
    {
      name: 'a Console asking for a multi-factor session',
      message: /asks for a multi-factor session, which a CI job cannot complete: use a Console deploy key/,
      prepare: () => onConsole(MFA_TOKEN)
    },
    {
      name: 'a host that is not a Convox API',
      message: /is not a Convox API \(GET \/auth answered 404\)/,
      prepare: async () => ({
        inputs: { host: notConvox.host, password: RACK_KEY, 'ca-cert': notConvox.caCert },
        host: notConvox.host
      })
    },
    {
      name: 'a port that speaks plain HTTP',
      message: /^127\.0\.0\.1:\d+ speaks plain HTTP, not HTTPS: check the port in the host input/,
      prepare: async () => {
        const host = `127.0.0.1:${plainHttp.port}`
        return { inputs: { host, password: RACK_KEY, 'ca-cert': rack.caCert }, host }
      }
    },
    {
      name: 'a host name that does not resolve',
      message:
        /^Cannot resolve does-not-exist\.invalid \(DNS lookup failed\): check the host input for typos\.$/,
      prepare: async () => ({
        inputs: { host: 'does-not-exist.invalid', password: RACK_KEY, 'retry-for': '1s' },
        host: 'does-not-exist.invalid'
      })
    },
    {
      name: 'a refused connection',
      message: /refused the connection \(within retry-for, 1s\): check the port in the host input/,
      prepare: async () => {
        const host = `127.0.0.1:${await closedPort()}`
        return { inputs: { host, password: RACK_KEY, 'ca-cert': rack.caCert, 'retry-for': '1s' }, host }
      }
    },
    {
      name: 'a timeout',
      message: /did not answer in time \(within retry-for, 1s\): check that this runner can reach it/,
      noRequests: false,
      prepare: () => withOwnRack(fake => fake.fail({ hang: true }, { times: 100 }), { 'retry-for': '1s' })
    },
    {
      name: 'a certificate that is not trusted (no ca-cert)',
      message:
        /^TLS verification of (\S+) failed \([A-Z_]+\): .*pass its CA in ca-cert, or set insecure: true/,
      prepare: async () => ({ inputs: { host: rack.host, password: RACK_KEY }, host: rack.host })
    },
    {
      name: 'a certificate that is not trusted (the system roots only)',
      message: /^TLS verification of (\S+) failed .*ca-cert.*insecure/,
      prepare: async () => ({
        inputs: { host: rack.host, password: RACK_KEY },
        host: rack.host,
        env: { NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' }
      })
    },
    {
      name: 'a 503 that lasts longer than retry-for',
      message: /kept answering GET \/auth with HTTP 503 for 1s.*try again later, or raise retry-for/,
      prepare: () => withOwnRack(fake => fake.fail({ status: 503 }, { times: 1000 }), { 'retry-for': '1s' })
    },
    {
      name: "a refusal in the rack's JSON error body, which quotes the key",
      message: /answered GET \/auth with HTTP 400: no rack takes the key \*\*\*\.$/,
      prepare: () =>
        withOwnRack(fake =>
          fake.fail(
            { status: 400, body: JSON.stringify({ error: `no rack takes the key ${RACK_KEY}` }) },
            { path: '/auth' }
          )
        )
    },
    {
      name: 'a Rack whose name is not the rack input',
      message: /is the rack "production", not "staging": check the host and rack inputs/,
      prepare: () => onRack({ rack: 'staging' })
    },
    {
      name: 'an ambiguous bare rack name',
      message:
        /The rack name "staging" matches several racks on (\S+) \(acme\/staging, other\/staging\): set rack to <org>\/<rack>/,
      prepare: () => onConsole(token('ambiguous'), { rack: 'staging' })
    },
    {
      name: 'a rack the key cannot see',
      message:
        /cannot see a rack "acme\/nope" on (\S+); it can see acme\/production, acme\/staging, other\/qa, other\/staging: set the rack input/,
      prepare: () => onConsole(token('unknown'), { rack: 'acme/nope' })
    },
    {
      name: 'an existing auth file that is not JSON',
      message:
        /auth is not a JSON object of strings, so the Convox CLI cannot read it either.*nothing was changed/,
      namesFile: true,
      noRequests: true,
      seed: dir => {
        fs.mkdirSync(dir, { mode: 0o700 })
        fs.writeFileSync(path.join(dir, 'auth'), '{"other.example.com": "x",', { mode: 0o600 })
        fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o600 })
      },
      prepare: () => withOwnRack(() => undefined)
    },
    {
      name: 'a symbolic link in place of auth',
      message: /auth is a symbolic link; refusing to write credentials through it/,
      namesFile: true,
      noRequests: true,
      seed: (dir, runner) => {
        fs.mkdirSync(dir, { mode: 0o700 })
        const target = path.join(runner.root, 'shared-auth')
        fs.writeFileSync(target, OTHER_AUTH, { mode: 0o644 })
        fs.symlinkSync(target, path.join(dir, 'auth'))
      },
      prepare: () => withOwnRack(() => undefined)
    }
  ]

  const runs = cases.flatMap(c =>
    c.seed
      ? [{ ...c, dirState: 'seeded' }]
      : [
          { ...c, dirState: 'absent' },
          { ...c, dirState: 'existing' }
        ]
  )

  it.concurrent.each(runs)('$name (settings dir $dirState)', async failure => {
    const runner = fresh()
    const dir = settingsDir(runner)
    if (failure.seed) failure.seed(dir, runner)
    else if (failure.dirState === 'existing') seedOtherLogin(dir)
    const before = snapshot(dir)
    const outside = path.join(runner.root, 'shared-auth')
    const outsideBefore = fs.existsSync(outside) ? fs.readFileSync(outside, 'utf8') : undefined
    const prepared = await failure.prepare()
    try {
      const result = await step(runner, prepared.inputs, { env: prepared.env })
      expect(result.code).toBe(1)
      expect(result.error).toMatch(failure.message)
      // One sentence on one line, naming the host (or the file) and what to do.
      expect(result.stdout.match(/^::error::/gm)).toHaveLength(1)
      expect(result.error).not.toMatch(/\n/)
      expect(result.error).toMatch(/\.$/)
      expect(result.error).not.toMatch(/Unexpected error/)
      if (failure.namesFile) expect(result.error).toContain(path.join(dir, 'auth'))
      else expect(result.error).toContain(prepared.host)

      expect(snapshot(dir)).toEqual(before)
      if (outsideBefore !== undefined) expect(fs.readFileSync(outside, 'utf8')).toBe(outsideBefore)
      expect(result.env).toEqual({})
      expect(result.state.journal).toBeUndefined()
      expect(fs.readdirSync(runner.temp)).toEqual([])
      if (failure.noRequests) expect(prepared.own!.requests).toEqual([])
      expectNoLeaks(result, runner, [prepared.inputs.password!], prepared.host)
    } finally {
      await prepared.own?.close()
    }
  })
})

describe('a runner file the step cannot write', () => {
  it.concurrent('fails the step (exit 1) with an error line, and writes no settings', async () => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      // GITHUB_STATE is the first thing a main step writes; a directory there makes it throw.
      const result = await step(
        runner,
        { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert },
        { env: { GITHUB_STATE: runner.temp } }
      )
      expect(result.code).toBe(1)
      expect(result.error).toMatch(/^Unexpected error in convox-login \(please report it\): .*EISDIR/)
      expect(fs.existsSync(settingsDir(runner))).toBe(false)
      expect(fake.requests).toEqual([])
      // It stopped before masking the key (the state comes first, so a post step is always told
      // apart), and printed nothing that holds it.
      for (const form of secretForms(RACK_KEY, fake.host))
        expect(result.stdout + result.stderr).not.toContain(form)
    } finally {
      await fake.close()
    }
  })
})

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

describe('merging into existing settings', () => {
  let rack: FakeConvox
  beforeAll(async () => {
    rack = await startFakeConvox(RACK)
  })
  afterAll(() => rack.close())

  it.concurrent("keeps another host's auth entry byte for byte", async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    seedOtherLogin(dir)
    const result = await step(runner, { host: rack.host, password: RACK_KEY, 'ca-cert': rack.caCert })
    expect(result.error).toBeUndefined()
    const auth = read(dir, 'auth')
    expect(auth).toBe(`{\n  "${rack.host}": "${RACK_KEY}",\n  "other.example.com": "x\\u0026y"\n}`)
    expect(auth.split('\n')).toContain(OTHER_AUTH.split('\n')[1])
    expect(read(dir, 'host')).toBe(rack.host)
    // As `convox login` does: a rack chosen on another host is no fallback for this one.
    expect(fs.existsSync(path.join(dir, 'rack'))).toBe(false)
    expect(result.stdout).toContain(`\nRemoved ${path.join(dir, 'rack')}, left by an earlier login.\n`)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('gives existing files mode 0600, even when they were 0644', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    fs.mkdirSync(dir, { mode: 0o700 })
    for (const name of ['auth', 'host', 'console']) {
      fs.writeFileSync(path.join(dir, name), name === 'auth' ? OTHER_AUTH : 'other.example.com', {
        mode: 0o644
      })
      fs.chmodSync(path.join(dir, name), 0o644)
    }
    const result = await step(runner, { host: rack.host, password: RACK_KEY, 'ca-cert': rack.caCert })
    expect(result.error).toBeUndefined()
    for (const name of ['auth', 'host', 'console']) expect(mode(path.join(dir, name))).toBe(0o600)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('replaces this host’s old key and leaves the rest', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(
      path.join(dir, 'auth'),
      `{\n  "${rack.host}": "OldKeyForThisHost",\n  "z.example.com": "z"\n}`
    )
    const result = await step(runner, { host: rack.host, password: RACK_KEY, 'ca-cert': rack.caCert })
    expect(result.error).toBeUndefined()
    expect(read(dir, 'auth')).toBe(`{\n  "${rack.host}": "${RACK_KEY}",\n  "z.example.com": "z"\n}`)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })
})

describe('bad inputs: refused before anything is sent or written', () => {
  const PEM_ISH = 'not a certificate'
  const NEXT_KEY = 'PendingNextKeyPpQqRrSsTt'
  interface BadInput {
    name: string
    inputs: (fake: FakeConvox, runner: Runner) => Record<string, string>
    message: RegExp
  }
  const valid = (fake: FakeConvox) => ({ host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert })
  const bad: BadInput[] = [
    {
      name: 'an empty password',
      inputs: f => ({ ...valid(f), password: '' }),
      message: /password input is empty.*forks or by Dependabot/
    },
    {
      name: 'an http:// host',
      inputs: f => ({ ...valid(f), host: `http://${f.host}` }),
      message: /uses http:\/\/, but Convox APIs are served over HTTPS only/
    },
    {
      name: 'a host with a path',
      inputs: f => ({ ...valid(f), host: `https://${f.host}/api` }),
      message: /has a path, query or fragment/
    },
    {
      name: 'a host with a query',
      inputs: f => ({ ...valid(f), host: `${f.host}?rack=x` }),
      message: /has a path, query or fragment/
    },
    {
      name: 'a host with white space',
      inputs: f => ({ ...valid(f), host: f.host.replace(':', ' :') }),
      message: /contains white space/
    },
    {
      name: 'a bad boolean',
      inputs: f => ({ ...valid(f), validate: 'yes' }),
      message: /^The validate input "yes" is not a boolean: use true or false\.$/
    },
    {
      name: 'a bad retry-for',
      inputs: f => ({ ...valid(f), 'retry-for': 'banana' }),
      message: /retry-for input "banana" is not a duration/
    },
    {
      name: 'a bad rack',
      inputs: f => ({ ...valid(f), rack: 'a/b/c' }),
      message: /rack input "a\/b\/c" is not a rack name/
    },
    {
      name: 'a ca-cert that is not PEM',
      inputs: f => ({ ...valid(f), 'ca-cert': PEM_ISH }),
      message: /ca-cert input is not a PEM certificate/
    },
    {
      name: 'ca-cert and insecure',
      inputs: f => ({ ...valid(f), insecure: 'true' }),
      message: /Both ca-cert and insecure are set/
    },
    {
      name: 'a config-dir inside the workspace',
      inputs: (f, r) => ({ ...valid(f), 'config-dir': path.join(r.workspace, '.convox') }),
      message: /config-dir input .* is inside the workspace.*runner\.temp/
    },
    {
      name: 'keyroll with validate false',
      inputs: f => ({ ...valid(f), keyroll: 'true', validate: 'false' }),
      message: /keyroll needs the API, but validate is false/
    },
    {
      name: 'update-secret without github-token',
      inputs: f => ({ ...valid(f), keyroll: 'true', 'update-secret': 'CONVOX_PASSWORD' }),
      message: /update-secret needs a github-token/
    },
    {
      name: 'password-next without keyroll',
      inputs: f => ({ ...valid(f), 'password-next': NEXT_KEY }),
      message: /password-next input is only used with keyroll: true/
    },
    {
      name: 'cli-version v3.1',
      inputs: f => ({ ...valid(f), 'cli-version': 'v3.1' }),
      message: /cli-version input "v3\.1" is not a Convox CLI version/
    },
    {
      name: 'cli-version banana',
      inputs: f => ({ ...valid(f), 'cli-version': 'banana' }),
      message: /cli-version input "banana" is not a Convox CLI version/
    },
    {
      name: 'cli-download-url without cli-version',
      inputs: f => ({ ...valid(f), 'cli-download-url': 'https://mirror.example.com/{version}/{asset}' }),
      message: /cli-download-url is set without cli-version/
    }
  ]

  it.concurrent.each(bad)('$name', async ({ inputs, message }) => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      const dir = settingsDir(runner)
      seedOtherLogin(dir)
      const before = snapshot(dir)
      const given = inputs(fake, runner)
      const result = await step(runner, given)
      expect(result.code).toBe(1)
      expect(result.error).toMatch(message)
      expect(result.error).not.toMatch(/\n/)
      expect(snapshot(dir)).toEqual(before)
      expect(fs.readdirSync(runner.workspace)).toEqual([])
      expect(fs.readdirSync(runner.temp)).toEqual([])
      expect(fake.requests).toEqual([])
      expect(result.env).toEqual({})
      expect(result.outputs).toEqual({})
      const secrets = [given.password!, given['password-next'] ?? ''].filter(Boolean)
      expectNoLeaks(result, runner, secrets, fake.host)
    } finally {
      await fake.close()
    }
  })
})
