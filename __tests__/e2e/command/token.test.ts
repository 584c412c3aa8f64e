import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { mintRackToken } from '../../../test-support/rack-tokens.ts'
import { cliLeaks, evalInBash, KEY_LINES, machinePool, runCli } from '../../../test-support/run-cli.ts'

/**
 * Rack access tokens and the audit actor through the convox-login command: the same core as the
 * action's (issue 13), against a loopback v3 rack that mints and checks its own HS256 tokens and
 * records each request's Basic user and X-Convox-Actor header.
 */

// Made-up keys.
const SIGNING_KEY = 'CliFakeRackSigningKey-00112233445566778899aabbcc'
const RACK_PASSWORD = 'CliV3RackPasswordQwErTyUiOpAsDfGhJkLzXcVbNm0123456789abcdef'

const token = (user: string, hours: number) =>
  mintRackToken(SIGNING_KEY, { role: 'rw', user, expiresAt: Math.floor(Date.now() / 1000) + hours * 3600 })

let rack: FakeConvox
const machines = machinePool()
beforeAll(async () => {
  rack = await startFakeConvox({
    kind: 'rack',
    rack: { password: RACK_PASSWORD, version: '3.24.9' },
    tokens: { signingKey: SIGNING_KEY }
  })
})
afterAll(async () => {
  machines.removeAll()
  await rack.close()
})

/** The requests this scenario's token made: each scenario mints its own (`user` claim). */
const requestsOf = (secret: string) => rack.requests.filter(r => r.password === secret)

describe('convox-login with a rack access token', () => {
  it('authenticates as jwt, hands over RACK_URL and no CONVOX_PASSWORD, and leaks the token nowhere else', async () => {
    const m = machines.fresh()
    const secret = token('cli-sh', 720)
    const dir = path.join(m.root, 'convox')
    const result = await runCli(m, ['login', '--host', rack.host, '--config-dir', dir, '--format', 'sh'], {
      env: { CONVOX_PASSWORD: secret }
    })
    expect(result.stderr).toContain('Rack access token: role write')
    expect(result.code).toBe(0)
    const seen = requestsOf(secret)
    expect(seen.length).toBeGreaterThanOrEqual(2)
    expect(new Set(seen.map(r => r.user))).toEqual(new Set(['jwt']))
    const vars = await evalInBash(result.stdout, ['CONVOX_HOST', 'CONVOX_PASSWORD', 'RACK_URL'], {
      CONVOX_PASSWORD: 'stale-key-from-an-earlier-step'
    })
    expect(vars.RACK_URL).toBe(`https://jwt:${secret}@${rack.host}`)
    // Sent with user convox, the token would only get a bare 401: later commands use RACK_URL.
    expect(vars.CONVOX_PASSWORD).toBeUndefined()
    expect(vars.CONVOX_HOST).toBe(rack.host)
    // Nor is the token written where a reader of auth would send it with user convox.
    for (const file of fs.readdirSync(dir)) {
      expect(fs.readFileSync(path.join(dir, file), 'utf8')).not.toContain(secret)
    }
    expect(cliLeaks(result, [secret], { host: rack.host, allowed: KEY_LINES.sh })).toEqual([])
  })

  it('refuses an expired token before any request, saying when it expired', async () => {
    const m = machines.fresh()
    const secret = token('cli-expired', -2)
    const result = await runCli(m, ['login', '--host', rack.host, '--format', 'none'], {
      env: { CONVOX_PASSWORD: secret }
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/rack access token expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/)
    expect(requestsOf(secret)).toEqual([])
    expect(cliLeaks(result, [secret], { host: rack.host })).toEqual([])
  })

  it('refuses a token without a host, which would otherwise go to Console (a usage error)', async () => {
    const m = machines.fresh()
    const secret = token('cli-no-host', 720)
    const result = await runCli(m, ['login', '--format', 'none'], { env: { CONVOX_PASSWORD: secret } })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /The key \(CONVOX_PASSWORD, --password-stdin or --password-file\) is a rack access token, which only its rack accepts, but neither --host nor CONVOX_HOST is given/
    )
    expect(cliLeaks(result, [secret])).toEqual([])
  })
})

describe('convox-login and the audit actor', () => {
  it('sends --actor on every request and exports CONVOX_ACTOR', async () => {
    const m = machines.fresh()
    const result = await runCli(
      m,
      ['login', '--host', rack.host, '--actor', 'release bot\u0007', '--format', 'sh'],
      { env: { CONVOX_PASSWORD: RACK_PASSWORD } }
    )
    expect(result.code).toBe(0)
    const mine = rack.requests.filter(r => r.actor === 'release bot')
    expect(mine.length).toBeGreaterThanOrEqual(2)
    expect((await evalInBash(result.stdout, ['CONVOX_ACTOR'])).CONVOX_ACTOR).toBe('release bot')
  })

  it("derives it from GitLab CI's run, and keeps a CONVOX_ACTOR the job set", async () => {
    const m = machines.fresh()
    const gitlab = {
      GITLAB_CI: 'true',
      CI_PROJECT_PATH: 'acme/app',
      CI_PIPELINE_ID: '4242',
      GITLAB_USER_LOGIN: 'octo'
    }
    const derived = await runCli(m, ['login', '--host', rack.host, '--format', 'none'], {
      env: { ...gitlab, CONVOX_PASSWORD: RACK_PASSWORD }
    })
    expect(derived.code).toBe(0)
    expect(rack.requests.some(r => r.actor === 'acme/app, run 4242, by octo')).toBe(true)

    const kept = await runCli(m, ['login', '--host', rack.host, '--format', 'sh'], {
      env: { ...gitlab, CONVOX_PASSWORD: RACK_PASSWORD, CONVOX_ACTOR: 'deploys/team-a' }
    })
    expect(kept.code).toBe(0)
    expect(rack.requests.some(r => r.actor === 'deploys/team-a')).toBe(true)
    expect(kept.stdout).not.toContain('CONVOX_ACTOR')
  })

  it('sends no actor with --actor none', async () => {
    const m = machines.fresh()
    const before = rack.requests.length
    const result = await runCli(m, ['login', '--host', rack.host, '--actor', 'none', '--format', 'sh'], {
      env: { CONVOX_PASSWORD: RACK_PASSWORD, CONVOX_ACTOR: 'ignored' }
    })
    expect(result.code).toBe(0)
    expect(rack.requests.slice(before).every(r => r.actor === undefined)).toBe(true)
  })
})
