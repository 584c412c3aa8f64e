import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { secretForms } from '../../../src/core/secrets.ts'
import {
  CONSOLE,
  EXPIRED_TOKEN,
  expectNoLeaks,
  MFA_TOKEN,
  OTHER_AUTH,
  RACK,
  RACK_KEY,
  seedOtherLogin,
  settingsDir,
  token,
  WRONG_KEY
} from '../../../test-support/action-login.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { Runner } from '../../../test-support/run-action.ts'
import { runnerPool, runStepTrustingInputs as step } from '../../../test-support/run-action.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'
import { closedPort, listenOnLoopback } from '../../../test-support/tls.ts'

/**
 * Every way a login can fail once it asks the API, end to end: one sentence naming the host (or
 * the settings file) and the cause, exit 1, the settings directory untouched whether it was absent
 * or held another login, nothing leaked; and a runner file the step cannot write.
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

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
