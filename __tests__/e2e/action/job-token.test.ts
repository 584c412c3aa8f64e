import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeV3Rack, FakeV3Server } from '../../../test-support/fake-v3-rack.ts'
import { startFakeV3Console, startFakeV3Rack } from '../../../test-support/fake-v3-rack.ts'
import { claimsOf, mintRackToken, tokenOf, verifyRackToken } from '../../../test-support/rack-tokens.ts'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import { filesContaining, findLeaks, runnerPool, runStep } from '../../../test-support/run-action.ts'

/**
 * Least-privilege job tokens end to end: dist/ run as a runner does, against a loopback v3 rack
 * that mints, checks roles and signs with its own key (test-support/fake-v3-rack.ts), and a
 * Console in front of it. Later steps must get the minted token and nothing else: no password in
 * env files, outputs, state, summary, settings, workspace or log, in any form.
 */

// Made-up keys.
const PASSWORD = 'V3RackPasswordJobTokenQwErTyUiOpAsDfGhJkLzXcVbNm0123456789abcdef'
const SIGNING_KEY = 'JobTokenSigningKey-00112233445566778899aabbccddeeff'
const CONSOLE_TOKEN = 'console_cli_token_jobtoken_0123456789abcdef'

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

let rack: FakeV3Rack
let oldRack: FakeV3Rack
let legacyRack: FakeV3Rack
let console_: FakeV3Server
let noDomain: FakeV3Rack
let noDomainConsole: FakeV3Server
beforeAll(async () => {
  rack = await startFakeV3Rack({ password: PASSWORD, signingKey: SIGNING_KEY, processes: 3 })
  oldRack = await startFakeV3Rack({
    password: PASSWORD,
    signingKey: SIGNING_KEY,
    version: '3.10.2',
    noMintRoute: true
  })
  legacyRack = await startFakeV3Rack({ password: PASSWORD, signingKey: SIGNING_KEY, version: '3.20.0' })
  console_ = await startFakeV3Console(rack, PASSWORD, {
    token: CONSOLE_TOKEN,
    org: 'acme',
    rackName: 'production'
  })
  noDomain = await startFakeV3Rack({ password: PASSWORD, signingKey: SIGNING_KEY, rackDomain: '' })
  noDomainConsole = await startFakeV3Console(noDomain, PASSWORD, {
    token: CONSOLE_TOKEN,
    org: 'acme',
    rackName: 'production'
  })
})
afterAll(async () => {
  for (const s of [rack, oldRack, legacyRack, console_, noDomain, noDomainConsole]) await s.close()
})

/** No form of any secret anywhere a later step, the log or the workspace could see it. */
function expectNowhere(result: StepResult, runner: Runner, secrets: readonly string[], host: string): void {
  const forms = secrets.flatMap(s => secretForms(s, host))
  const everything = [
    JSON.stringify(result.env),
    JSON.stringify(result.outputs),
    JSON.stringify(result.state),
    result.summary,
    result.error ?? '',
    result.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n'),
    result.stderr
  ]
  for (const form of forms) for (const text of everything) expect(text).not.toContain(form)
  expect(filesContaining(runner.workspace, secrets)).toEqual([])
  expect(filesContaining(runner.home, secrets)).toEqual([])
  expect(filesContaining(runner.temp, secrets)).toEqual([])
}

describe('mint-token', () => {
  it.concurrent('hands later steps a minted write token and never the rack password', async () => {
    const runner = fresh()
    const actor = 'job token write'
    const result = await runStep(runner, {
      host: rack.host,
      password: PASSWORD,
      'mint-token': 'write',
      actor
    })
    expect(result.error).toBeUndefined()
    expect(result.code).toBe(0)
    const url = result.env.RACK_URL!
    expect(url).toMatch(new RegExp(`^https://jwt:[^@]+@${rack.host.replace(/\./g, '\\.')}$`))
    const token = tokenOf(url)
    expect(claimsOf(token).role).toBe('rw')
    // Six hours by default, as the rack counts them.
    expect(claimsOf(token).expiresAt * 1000 - Date.now()).toBeGreaterThan(6 * 3600_000 - 60_000)
    expect(claimsOf(token).expiresAt * 1000 - Date.now()).toBeLessThanOrEqual(6 * 3600_000)
    expect(verifyRackToken(SIGNING_KEY, token, Date.now())).toHaveProperty('claims')
    expect(Object.keys(result.env).sort()).toEqual([
      'CONVOX_ACTOR',
      'CONVOX_CONFIG',
      'CONVOX_HOST',
      'RACK_URL'
    ])
    expect(result.outputs).toMatchObject({
      'token-role': 'write',
      'token-expires-at': new Date(claimsOf(token).expiresAt * 1000).toISOString().replace('.000Z', 'Z'),
      'rack-url': url
    })
    expect(fs.readdirSync(path.join(runner.home, '.convox')).sort()).toEqual(['console', 'host'])
    expect(result.summary).toContain('<td>Job token</td>')
    expect(result.summary).toContain('<td>write</td>')
    // Minted with the password, then checked as user jwt before anything was written.
    const mine = rack.requests.filter(r => r.actor === actor)
    expect(mine.map(r => [r.user, r.method, r.path, r.status])).toEqual([
      ['convox', 'GET', '/auth', 200],
      ['convox', 'GET', '/system', 200],
      ['convox', 'POST', '/system/jwt/token', 200],
      ['jwt', 'GET', '/auth', 200]
    ])
    expect(new URLSearchParams(mine[2]!.body).get('durationInHour')).toBe('6')
    expect(findLeaks(result, [PASSWORD], { host: rack.host, made: [token] })).toEqual([])
    expectNowhere(result, runner, [PASSWORD], rack.host)
    // The token itself is in RACK_URL and the masked output only.
    const tokenForms = secretForms(token, rack.host)
    for (const form of tokenForms) {
      expect(result.summary).not.toContain(form)
      expect(JSON.stringify(result.state)).not.toContain(form)
    }
  })

  it.concurrent('clears a CONVOX_PASSWORD an earlier step left, and takes mint-token-hours', async () => {
    const runner = fresh()
    runner.jobEnv.CONVOX_PASSWORD = 'stale-password-of-an-earlier-step'
    const result = await runStep(runner, {
      host: rack.host,
      password: PASSWORD,
      'mint-token': 'read',
      'mint-token-hours': '1'
    })
    expect(result.error).toBeUndefined()
    expect(result.env.CONVOX_PASSWORD).toBe('')
    const token = tokenOf(result.env.RACK_URL!)
    expect(claimsOf(token)).toMatchObject({ role: 'r' })
    expect(claimsOf(token).expiresAt * 1000 - Date.now()).toBeLessThanOrEqual(3600_000)
  })

  it.concurrent('mints through Console for the rack and names the rack-domain, not Console', async () => {
    const runner = fresh()
    const result = await runStep(runner, {
      host: console_.host,
      password: CONSOLE_TOKEN,
      rack: 'acme/production',
      'mint-token': 'write',
      // A token of its own: two minted in the same second with the same claims are the same token.
      'mint-token-hours': '2'
    })
    expect(result.error).toBeUndefined()
    const url = result.env.RACK_URL!
    expect(url.endsWith(`@${rack.host}`)).toBe(true)
    expect(result.env.CONVOX_HOST).toBe(rack.host)
    expect(result.env.CONVOX_RACK).toBeUndefined()
    expect(result.outputs.host).toBe(rack.host)
    const token = tokenOf(url)
    expect(console_.requests.filter(r => r.path === '/system/jwt/token').map(r => r.rack)).toEqual([
      'acme/production'
    ])
    expect(rack.requests.filter(r => r.password === token).map(r => [r.user, r.path, r.status])).toEqual([
      ['jwt', '/auth', 200]
    ])
    const dir = path.join(runner.home, '.convox')
    expect(fs.readFileSync(path.join(dir, 'host'), 'utf8')).toBe(rack.host)
    expect(fs.existsSync(path.join(dir, 'auth'))).toBe(false)
    expectNowhere(result, runner, [CONSOLE_TOKEN], console_.host)
  })

  it.concurrent.each<[string, () => Record<string, string>, RegExp]>([
    [
      'a v3 rack too old to mint',
      () => ({ host: oldRack.host, password: PASSWORD, 'mint-token': 'write' }),
      /^127\.0\.0\.1:\d+ runs version 3\.10\.2, which has no POST \/system\/jwt\/token: update the rack to 3\.24\.6 or later \(convox rack update\), or remove mint-token\.$/
    ],
    [
      'an admin token from a write token',
      () => ({
        'rack-url': `https://jwt:${mintRackToken(SIGNING_KEY, { role: 'rw', expiresAt: Math.floor(Date.now() / 1000) + 3600 })}@${rack.host}`,
        'mint-token': 'admin'
      }),
      /will not mint an admin token with this credential \(HTTP 403 admin role required to mint admin tokens\): .*set mint-token: write or read/
    ],
    [
      'a write token from a read token',
      () => ({
        'rack-url': `https://jwt:${mintRackToken(SIGNING_KEY, { role: 'r', expiresAt: Math.floor(Date.now() / 1000) + 3600 })}@${rack.host}`,
        'mint-token': 'write'
      }),
      /will not mint a write token with this credential \(HTTP 401 you are unauthorized to access this\)/
    ],
    [
      'a rack before 3.24.6 that answers an admin token with an empty one',
      () => ({ host: legacyRack.host, password: PASSWORD, 'mint-token': 'admin' }),
      /^127\.0\.0\.1:\d+ \(version 3\.20\.0\) answered the request for an admin token without a token/
    ],
    [
      'hours out of range',
      () => ({ host: rack.host, password: PASSWORD, 'mint-token': 'write', 'mint-token-hours': '8761' }),
      /^The mint-token-hours input "8761" is not a whole number of hours from 1 to 8760/
    ],
    [
      'validate: false',
      () => ({ host: rack.host, password: PASSWORD, 'mint-token': 'write', validate: 'false' }),
      /^A job token is minted by the rack's API, which validate: false does not use: remove validate: false\.$/
    ],
    [
      'keyroll',
      () => ({ host: rack.host, password: PASSWORD, 'mint-token': 'write', keyroll: 'true' }),
      /^keyroll: true and mint-token do not go together/
    ],
    [
      'a Console rack that reports no rack-domain',
      () => ({
        host: noDomainConsole.host,
        password: CONSOLE_TOKEN,
        rack: 'acme/production',
        'mint-token': 'read'
      }),
      /^Rack acme\/production reports no rack-domain in GET \/system/
    ]
  ])('refuses %s in one sentence, with nothing written or handed over', async (name, inputs, message) => {
    const runner = fresh()
    const actor = `refusal ${name}`
    const result = await runStep(runner, { ...inputs(), actor })
    expect(result.code).toBe(1)
    expect(result.error).toMatch(message)
    expect(result.env).toEqual({})
    expect(fs.existsSync(path.join(runner.home, '.convox'))).toBe(false)
    // Nothing that changes a rack: no token was minted, the key not rotated.
    // The legacy rack's 200 holds an empty token: nothing was minted there.
    const minted = [rack, oldRack, noDomain]
      .flatMap(r => r.requests)
      .filter(r => r.actor === actor && r.path.startsWith('/system/jwt') && r.status === 200)
    expect(minted).toEqual([])
  })
})
