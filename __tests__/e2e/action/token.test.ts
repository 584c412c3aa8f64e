import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import { deriveActor } from '../../../src/core/actor.ts'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { RackTokenClaims } from '../../../test-support/rack-tokens.ts'
import { claimsOf, mintRackToken, signJwt } from '../../../test-support/rack-tokens.ts'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import {
  filesContaining,
  findLeaks,
  runnerPool,
  runStepTrustingInputs
} from '../../../test-support/run-action.ts'
import { read } from '../../../test-support/settings-dir.ts'
import { loginTo, settingsDir } from '../../../test-support/action-login.ts'

/**
 * Rack access tokens and the audit actor end to end: dist/index.cjs against a loopback v3 rack
 * that mints and checks HS256 tokens with its own signing key (as `convox rack access` and
 * pkg/api/api.go `authenticate` do) and records the X-Convox-Actor header of every request.
 */

// Made-up keys.
const SIGNING_KEY = 'FakeRackSigningKey-0f1e2d3c4b5a69788796a5b4c3d2e1f0'
const OTHER_SIGNING_KEY = 'AnotherRacksSigningKey-aabbccddeeff00112233'
const RACK_PASSWORD = 'V3RackPasswordQwErTyUiOpAsDfGhJkLzXcVbNm0123456789abcdefABCDEF'
const DEPLOY_KEY = 'deploy_token_test_0123456789abcdef0123456789'

const HOUR = 3600
/** A token of its own for each scenario (the `user` claim differs), so each finds its own requests. */
function token(
  scenario: string,
  role: RackTokenClaims['role'] = 'rw',
  hours = 720,
  key = SIGNING_KEY
): string {
  return mintRackToken(key, {
    role,
    user: `ci-${scenario}`,
    expiresAt: Math.floor(Date.now() / 1000) + hours * HOUR
  })
}
const iso = (t: string) => new Date(claimsOf(t).expiresAt * 1000).toISOString().replace('.000Z', 'Z')

const RUN_ENV = {
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_WORKFLOW: 'Deploy',
  GITHUB_RUN_ID: '987654321',
  GITHUB_RUN_ATTEMPT: '3',
  GITHUB_ACTOR: 'octocat'
}
const DERIVED = 'acme/app, workflow "Deploy", run 987654321 attempt 3, by octocat'

const step = runStepTrustingInputs
const masked = (stdout: string) =>
  stdout
    .split('\n')
    .filter(l => l.startsWith('::add-mask::'))
    .map(l => l.slice('::add-mask::'.length).replace(/%25/g, '%'))

/** No form of the secrets in the log, the error, the summary, the outputs or the workspace. */
function expectNoLeaks(result: StepResult, runner: Runner, secrets: readonly string[], host: string): void {
  expect(findLeaks(result, secrets, { host })).toEqual([])
  expect(filesContaining(runner.workspace, secrets)).toEqual([])
  for (const form of secrets.flatMap(s => secretForms(s, host))) {
    expect(result.summary).not.toContain(form)
    expect(result.error ?? '').not.toContain(form)
    for (const value of Object.values(result.outputs)) expect(value).not.toContain(form)
  }
}

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

let rack: FakeConvox
beforeAll(async () => {
  rack = await startFakeConvox({
    kind: 'rack',
    rack: { name: 'production', password: RACK_PASSWORD, version: '3.24.9', provider: 'gcp' },
    tokens: { signingKey: SIGNING_KEY }
  })
})
afterAll(() => rack.close())

const sentWith = (secret: string) => rack.requests.filter(r => r.password === secret)

describe('a rack access token', () => {
  it.concurrent('logs in with rack-url, as user jwt, and hands over RACK_URL alone', async () => {
    const runner = fresh()
    const t = token('rack-url')
    const result = await step(
      runner,
      { 'rack-url': `https://jwt:${t}@${rack.host}`, 'ca-cert': rack.caCert },
      { env: RUN_ENV }
    )
    expect(result.error).toBeUndefined()
    expect(result.code).toBe(0)
    const dir = settingsDir(runner)
    expect(result.outputs).toMatchObject({
      host: rack.host,
      kind: 'rack',
      rack: 'production',
      'rack-version': '3.24.9',
      'token-role': 'write',
      'token-expires-at': iso(t),
      actor: DERIVED
    })
    // CONVOX_PASSWORD and auth would go out with user convox: a bare 401. RACK_URL says jwt.
    expect(result.env).toEqual({
      CONVOX_HOST: rack.host,
      CONVOX_CONFIG: dir,
      RACK_URL: `https://jwt:${t}@${rack.host}`,
      CONVOX_ACTOR: DERIVED
    })
    expect(fs.readdirSync(dir).sort()).toEqual(['console', 'host'])
    expect(read(dir, 'host')).toBe(rack.host)
    expect(sentWith(t).map(r => [r.user, r.method, r.path, r.status])).toEqual([
      ['jwt', 'GET', '/auth', 200],
      ['jwt', 'GET', '/system', 200]
    ])
    expect(result.stdout).toContain(`Rack access token: role write, expires at ${iso(t)}.`)
    expect(result.stdout).not.toMatch(/^::warning::/m)
    expect(result.summary).toContain('<td>Token role</td>')
    expect(result.summary).toContain(`<td>${iso(t)}</td>`)
    expect(result.summary).toContain(`<td>${DERIVED.replace(/"/g, '&quot;')}</td>`)
    const forms = secretForms(t, rack.host)
    expect(forms).toEqual(
      expect.arrayContaining([
        Buffer.from(`jwt:${t}`).toString('base64'),
        `https://jwt:${t}@${rack.host}`,
        `https://convox:${t}@${rack.host}`
      ])
    )
    expect(masked(result.stdout)).toEqual(expect.arrayContaining(forms))
    expectNoLeaks(result, runner, [t], rack.host)
  })

  it.concurrent.each([
    ['r', 'read'],
    ['rw', 'write'],
    ['rwa', 'admin']
  ] as const)('takes a token of role %s in password, with host, as %s', async (role, expected) => {
    const runner = fresh()
    const t = token(`role-${role}`, role)
    const result = await loginTo(rack, runner, { password: t })
    expect(result.error).toBeUndefined()
    expect(result.outputs['token-role']).toBe(expected)
    expect(result.outputs['token-expires-at']).toBe(iso(t))
    expect(result.env.RACK_URL).toBe(`https://jwt:${t}@${rack.host}`)
    expect(result.env.CONVOX_PASSWORD).toBeUndefined()
    expect(sentWith(t).every(r => r.user === 'jwt' && r.status === 200)).toBe(true)
    expect(result.summary).toContain(`<td>Token role</td><td>${expected}</td>`)
    expectNoLeaks(result, runner, [t], rack.host)
  })

  it.concurrent(
    'fails an expired token before any request, saying when and how to mint another',
    async () => {
      const runner = fresh()
      const t = token('expired', 'rw', -2)
      const result = await step(runner, {
        'rack-url': `https://jwt:${t}@${rack.host}`,
        'ca-cert': rack.caCert
      })
      expect(result.code).toBe(1)
      expect(result.error).toBe(
        `The rack access token expired at ${iso(t)}: mint a new one with convox rack access --role write ` +
          '--duration-in-hours 720 on a machine logged into the rack, then update the secret.'
      )
      expect(sentWith(t)).toEqual([])
      expect(fs.existsSync(settingsDir(runner))).toBe(false)
      expect(result.env).toEqual({})
      expectNoLeaks(result, runner, [t], rack.host)
    }
  )

  it.concurrent('warns with the date within 7 days of the end, and logs in', async () => {
    const runner = fresh()
    const t = token('near', 'rw', 3 * 24 - 1)
    const result = await loginTo(rack, runner, { password: t })
    expect(result.error).toBeUndefined()
    expect(result.stdout).toMatch(
      new RegExp(
        `^::warning::The rack access token expires at ${iso(t)} \\(in 2 days\\): before then, mint a new one`,
        'm'
      )
    )
    expectNoLeaks(result, runner, [t], rack.host)
  })

  it.concurrent(
    'says a token signed by another key was minted elsewhere or outlived a key rotation',
    async () => {
      const runner = fresh()
      const t = token('other-key', 'rw', 720, OTHER_SIGNING_KEY)
      const result = await loginTo(rack, runner, { password: t })
      expect(result.code).toBe(1)
      expect(sentWith(t).map(r => r.status)).toEqual([401])
      expect(result.error).toBe(
        `${rack.host} says the rack access token is signed with another key: it was minted for another rack, or this rack's ` +
          'signing key was rotated (convox rack access key rotate) since; check the host, or mint a new one with convox rack ' +
          'access --role write --duration-in-hours 720 on a machine logged into the rack, then update the secret.'
      )
      expect(fs.existsSync(settingsDir(runner))).toBe(false)
      expectNoLeaks(result, runner, [t], rack.host)
    }
  )

  it('says so when the rack finds the token expired (its clock ahead of ours)', async () => {
    const runner = fresh()
    const t = token('rack-expired')
    rack.fail({ status: 401, body: 'invalid authentication: token is expired\n' }, { path: '/auth' })
    const result = await loginTo(rack, runner, { password: t })
    expect(result.error).toBe(
      `${rack.host} says the rack access token has expired: mint a new one with convox rack access --role write ` +
        '--duration-in-hours 720 on a machine logged into the rack, then update the secret.'
    )
    expectNoLeaks(result, runner, [t], rack.host)
  })

  const valid = token('malformed')
  const [header, claims] = valid.split('.') as [string, string, string]
  it.concurrent.each([
    ['two segments', `${header}.${claims}`, /has 2 dot-separated parts, not 3/],
    ['bad base64', `${header}.${claims}*.x`, /is not base64url text/],
    [
      'a JSON payload without expiresAt',
      signJwt(SIGNING_KEY, { alg: 'HS256', typ: 'JWT' }, { user: 'ci', role: 'rw' }),
      /claims have no numeric expiresAt/
    ]
  ])('refuses a token with %s before any request', async (_what, t, message) => {
    const runner = fresh()
    const result = await loginTo(rack, runner, { password: t })
    expect(result.code).toBe(1)
    expect(result.error).toMatch(/^The password input looks like a rack access token but /)
    expect(result.error).toMatch(message)
    expect(sentWith(t)).toEqual([])
    expect(fs.existsSync(settingsDir(runner))).toBe(false)
    expectNoLeaks(result, runner, [t], rack.host)
  })

  it.concurrent('refuses keyroll for a token before any request', async () => {
    const runner = fresh()
    const t = token('keyroll')
    const result = await loginTo(rack, runner, { password: t, keyroll: 'true' })
    expect(result.code).toBe(1)
    expect(result.error).toMatch(
      /^keyroll: true cannot roll a rack access token: it is not the rack password/
    )
    expect(result.error).toContain('convox rack access key rotate')
    expect(sentWith(t)).toEqual([])
    expectNoLeaks(result, runner, [t], rack.host)
  })

  it.concurrent('with export-env: false warns that later commands are not logged in', async () => {
    const runner = fresh()
    const t = token('no-export')
    const result = await loginTo(rack, runner, { password: t, 'export-env': 'false' })
    expect(result.error).toBeUndefined()
    expect(result.env).toEqual({})
    expect(result.stdout).toMatch(/^::warning::export-env is false, and a rack access token is not written/m)
    expectNoLeaks(result, runner, [t], rack.host)
  })

  it.concurrent('clears a CONVOX_PASSWORD an earlier step left, which would go to this host', async () => {
    const runner = fresh()
    runner.jobEnv.CONVOX_PASSWORD = 'EarlierStepsKeyForAnotherHost'
    const t = token('stale-password')
    const result = await loginTo(rack, runner, { password: t })
    expect(result.error).toBeUndefined()
    expect(result.env.CONVOX_PASSWORD).toBe('')
    expect(result.stdout).toContain('Clearing CONVOX_PASSWORD left by an earlier step')
    expectNoLeaks(result, runner, [t], rack.host)
  })
})

describe('rack-url', () => {
  it.concurrent('with user convox logs in with the rack password, percent-decoded, on a port', async () => {
    const runner = fresh()
    const portRack = await startFakeConvox({ kind: 'rack', rack: { password: 'odd+key/with=chars&x' } })
    try {
      const url = `https://convox:${encodeURIComponent('odd+key/with=chars&x')}@${portRack.host}`
      expect(portRack.host).toMatch(/^127\.0\.0\.1:\d+$/)
      const result = await step(runner, { 'rack-url': url, 'ca-cert': portRack.caCert })
      expect(result.error).toBeUndefined()
      expect(portRack.requests.map(r => [r.user, r.password])).toEqual([
        ['convox', 'odd+key/with=chars&x'],
        ['convox', 'odd+key/with=chars&x']
      ])
      expect(result.outputs['token-role']).toBe('')
      expect(result.outputs['token-expires-at']).toBe('')
      expect(result.env.CONVOX_PASSWORD).toBe('odd+key/with=chars&x')
      expect(result.env.RACK_URL).toBe(url)
      expect(read(settingsDir(runner), 'auth')).toBe(
        `{\n  "${portRack.host}": "odd+key/with=chars\\u0026x"\n}`
      )
      expectNoLeaks(result, runner, ['odd+key/with=chars&x', url], portRack.host)
    } finally {
      await portRack.close()
    }
  })

  const t = token('bad-forms')
  it.concurrent.each([
    ['another scheme', () => `http://jwt:${t}@${rack.host}`, /uses http:\/\/, not https/],
    ['no user-info', () => `https://${rack.host}`, /has no user-info/],
    ['a path', () => `https://jwt:${t}@${rack.host}/apps`, /has a path/],
    ['another user', () => `https://root:${t}@${rack.host}`, /names a user other than jwt or convox/],
    ['a token without user', () => `https://${t}@${rack.host}`, /has no secret after the user name/],
    ['another host in host', () => `https://jwt:${t}@${rack.host}`, /host input names other\.example\.com/]
  ])('refuses %s, changes nothing and leaks nothing', async (what, url, message) => {
    const runner = fresh()
    const inputs: Record<string, string> = { 'rack-url': url(), 'ca-cert': rack.caCert }
    if (what === 'another host in host') inputs.host = 'other.example.com'
    const before = rack.requests.length
    const result = await step(runner, inputs)
    expect(result.code).toBe(1)
    expect(result.error).toMatch(message)
    expect(rack.requests.length).toBe(before)
    expect(fs.existsSync(settingsDir(runner))).toBe(false)
    // The action masks the input as given; the token inside it is in no other line either.
    expectNoLeaks(result, runner, [inputs['rack-url']!], rack.host)
    const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter(l => !l.startsWith('::add-mask::'))
    for (const form of secretForms(t, rack.host)) expect(lines.filter(l => l.includes(form))).toEqual([])
  })

  it.concurrent.each([
    [
      'both',
      { password: RACK_PASSWORD, 'rack-url': `https://convox:${RACK_PASSWORD}@127.0.0.1:1` },
      /^Both password and rack-url/
    ],
    ['neither', {}, /^The password input is empty, and rack-url is not set/]
  ])('refuses %s of password and rack-url', async (_what, inputs, message) => {
    const runner = fresh()
    const result = await step(runner, inputs as Record<string, string>)
    expect(result.code).toBe(1)
    expect(result.error).toMatch(message)
    expect(fs.existsSync(settingsDir(runner))).toBe(false)
    if ('password' in inputs) expectNoLeaks(result, runner, [RACK_PASSWORD], '127.0.0.1:1')
  })
})

describe('the audit actor', () => {
  const actorsOf = (secret: string) => sentWith(secret).map(r => r.actor)

  it.concurrent('is sent with every request to the rack, derived from the run', async () => {
    const runner = fresh()
    const t = token('actor-derived')
    const result = await loginTo(rack, runner, { password: t }, { env: RUN_ENV })
    expect(result.error).toBeUndefined()
    expect(actorsOf(t)).toEqual([DERIVED, DERIVED])
    expect(result.outputs.actor).toBe(DERIVED)
    expect(result.env.CONVOX_ACTOR).toBe(DERIVED)
  })

  it.concurrent('is sent with the rack password too, cleaned as the rack cleans it', async () => {
    const runner = fresh()
    const result = await step(
      runner,
      {
        'rack-url': `https://convox:${RACK_PASSWORD}@${rack.host}`,
        'ca-cert': rack.caCert,
        actor: `rel\u0007ease\u202e-bot ${'x'.repeat(300)}`
      },
      { env: RUN_ENV }
    )
    expect(result.error).toBeUndefined()
    const cleaned = `release-bot ${'x'.repeat(256 - 'release-bot '.length)}`
    expect(result.outputs.actor).toBe(cleaned)
    expect(result.env.CONVOX_ACTOR).toBe(cleaned)
    const mine = rack.requests.filter(r => r.password === RACK_PASSWORD && r.actor?.startsWith('release-bot'))
    expect(mine.map(r => r.actor)).toEqual([cleaned, cleaned])
    expectNoLeaks(result, runner, [RACK_PASSWORD], rack.host)
  })

  it.concurrent('none sends no header and exports nothing', async () => {
    const runner = fresh()
    const t = token('actor-none')
    const result = await loginTo(rack, runner, { password: t, actor: 'none' }, { env: RUN_ENV })
    expect(result.error).toBeUndefined()
    expect(sentWith(t)).toHaveLength(2)
    expect(actorsOf(t)).toEqual([undefined, undefined])
    expect(result.outputs.actor).toBe('')
    expect(result.env.CONVOX_ACTOR).toBeUndefined()
  })

  it.concurrent(
    'takes the job’s own CONVOX_ACTOR for its requests and leaves the variable alone',
    async () => {
      const runner = fresh()
      const t = token('actor-job')
      const result = await loginTo(
        rack,
        runner,
        { password: t },
        { env: { ...RUN_ENV, CONVOX_ACTOR: 'ops@example.com' } }
      )
      expect(result.error).toBeUndefined()
      expect(actorsOf(t)).toEqual(['ops@example.com', 'ops@example.com'])
      expect(result.outputs.actor).toBe('ops@example.com')
      expect(result.env.CONVOX_ACTOR).toBeUndefined()
    }
  )

  it.concurrent('sends nothing outside a run that names itself, unless given', async () => {
    const runner = fresh()
    const t = token('actor-local')
    const result = await loginTo(rack, runner, { password: t })
    expect(result.error).toBeUndefined()
    expect(actorsOf(t)).toEqual([undefined, undefined])
    expect(deriveActor({})).toBe('')
  })

  it.concurrent('is sent to Console too, on every request', async () => {
    const console_ = await startFakeConvox({
      kind: 'console',
      deployKeys: [DEPLOY_KEY],
      racks: [{ org: 'acme', name: 'production' }]
    })
    try {
      const runner = fresh()
      const result = await loginTo(
        console_,
        runner,
        { password: DEPLOY_KEY, rack: 'acme/production' },
        { env: RUN_ENV }
      )
      expect(result.error).toBeUndefined()
      expect(console_.requests.map(r => [r.path, r.actor])).toEqual([
        ['/auth', DERIVED],
        ['/racks', DERIVED],
        ['/racks', DERIVED],
        ['/system', DERIVED]
      ])
      expectNoLeaks(result, runner, [DEPLOY_KEY], console_.host)
    } finally {
      await console_.close()
    }
  })
})
