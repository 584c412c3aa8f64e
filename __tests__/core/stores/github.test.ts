import { afterEach, describe, expect, it } from '@jest/globals'
import type { Clock } from '../../../src/core/clock.ts'
import { realClock } from '../../../src/core/clock.ts'
import { ConvoxError, InputError } from '../../../src/core/errors.ts'
import type { Log } from '../../../src/core/log.ts'
import { silentLog } from '../../../src/core/log.ts'
import { GitHubSecretStore, gitHubSecretStoreFromEnv } from '../../../src/core/stores/github.ts'
import type { GitHubSecretStoreOptions } from '../../../src/core/stores/github.ts'
import { startFakeGitHub } from '../../../test-support/fake-github.ts'
import type { FakeGitHub, FakeGitHubOptions } from '../../../test-support/fake-github.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'

const TOKEN = 'github_pat_11AAAAAAA0writer'
const READ_ONLY_TOKEN = 'ghs_workflowtoken0readonly'
const OLD_KEY = 'old-key-0123456789'
// Non-ASCII and base64 characters: the key must arrive as the same UTF-8 bytes.
const NEW_KEY = 'new-kéy+/=9876543210'

let fake: FakeGitHub | undefined

afterEach(async () => {
  await fake?.close()
  fake = undefined
})

interface Harness {
  fake: FakeGitHub
  /** A store of CONVOX_PASSWORD in acme/app on the fake, with the options given. */
  makeStore(options?: Partial<GitHubSecretStoreOptions>): GitHubSecretStore
  /** Every line logged, at any level. */
  lines: string[]
  /** Values passed to log.secret. */
  masked: string[]
  slept: number[]
  clock: Clock
  log: Log
}

async function setup(fakeOptions: FakeGitHubOptions = {}): Promise<Harness> {
  const server = await startFakeGitHub({
    tokens: [TOKEN],
    readOnlyTokens: [READ_ONLY_TOKEN],
    environments: ['production', 'eu / prod'],
    ...fakeOptions
  })
  fake = server
  const lines: string[] = []
  const masked: string[] = []
  const slept: number[] = []
  let now = Date.UTC(2025, 0, 1)
  const clock: Clock = {
    now: () => now,
    sleep: async ms => {
      slept.push(ms)
      now += ms
    },
    random: () => 0.5
  }
  const log: Log = {
    ...silentLog,
    info: line => lines.push(line),
    warning: line => lines.push(line),
    debug: line => lines.push(line),
    secret: value => masked.push(value)
  }
  const makeStore = (options: Partial<GitHubSecretStoreOptions> = {}) =>
    new GitHubSecretStore({
      apiUrl: server.apiUrl,
      repository: 'acme/app',
      token: TOKEN,
      name: 'CONVOX_PASSWORD',
      tls: { caCert: server.caCert },
      clock,
      log,
      naming: INPUT_NAMING,
      ...options
    })
  return { fake: server, makeStore, lines, masked, slept, clock, log }
}

function failureOf(promise: Promise<unknown>): Promise<ConvoxError> {
  return promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(ConvoxError)
      return error as ConvoxError
    }
  )
}

/** Waits a moment for the server to see a client's close. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise(resolve => setTimeout(resolve, 10))
}

describe('GitHubSecretStore', () => {
  it('keeps one connection for its requests, and close() ends it', async () => {
    const { fake, makeStore } = await setup()
    const store = makeStore()
    await store.writeNext(NEW_KEY)
    await store.deleteNext()
    expect(fake.openConnections()).toBe(1)
    store.close()
    await until(() => fake.openConnections() === 0)
    expect(fake.openConnections()).toBe(0)
  })

  it('keeps a key in NEXT until CONVOX_PASSWORD holds it, reading the public key once', async () => {
    const { fake, makeStore } = await setup()
    const store = makeStore()
    fake.secrets().set('CONVOX_PASSWORD', OLD_KEY)

    await store.writeNext(NEW_KEY)
    expect(fake.secrets()).toEqual(
      new Map([
        ['CONVOX_PASSWORD', OLD_KEY],
        ['CONVOX_PASSWORD_NEXT', NEW_KEY]
      ])
    )
    await store.writeCurrent(NEW_KEY)
    expect(fake.secrets()).toEqual(
      new Map([
        ['CONVOX_PASSWORD', NEW_KEY],
        ['CONVOX_PASSWORD_NEXT', NEW_KEY]
      ])
    )
    await store.deleteNext()
    expect(fake.secrets()).toEqual(new Map([['CONVOX_PASSWORD', NEW_KEY]]))

    expect(fake.ops.map(({ op, scope, name }) => [op, scope, name])).toEqual([
      ['public-key', 'repository', undefined],
      ['put', 'repository', 'CONVOX_PASSWORD_NEXT'],
      ['put', 'repository', 'CONVOX_PASSWORD'],
      ['delete', 'repository', 'CONVOX_PASSWORD_NEXT']
    ])
  })

  it('speaks the REST API as GitHub documents it', async () => {
    const { fake, makeStore } = await setup()
    await makeStore().writeNext(NEW_KEY)

    expect(fake.requests.map(r => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /repos/acme/app/actions/secrets/public-key 200',
      'PUT /repos/acme/app/actions/secrets/CONVOX_PASSWORD_NEXT 201'
    ])
    expect(fake.requests[1]!.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'convox-login',
      'content-type': 'application/json'
    })
  })

  it('writes environment secrets with the environment key, its name URL-encoded', async () => {
    const { fake, makeStore } = await setup()
    const store = makeStore({ environment: 'eu / prod' })
    await store.writeNext(NEW_KEY)
    await store.writeCurrent(NEW_KEY)
    await store.deleteNext()

    expect(fake.secrets('eu / prod')).toEqual(new Map([['CONVOX_PASSWORD', NEW_KEY]]))
    expect(fake.secrets()).toEqual(new Map())
    expect(fake.requests[0]!.path).toBe('/repos/acme/app/environments/eu%20%2F%20prod/secrets/public-key')
    expect(new Set(fake.ops.map(o => o.scope))).toEqual(new Set(['environment:eu / prod']))
  })

  it('describes the secrets it keeps', async () => {
    const { makeStore } = await setup()
    expect(makeStore().describe('next')).toBe('repository secret CONVOX_PASSWORD_NEXT of acme/app')
    expect(makeStore().describe('current')).toBe('repository secret CONVOX_PASSWORD of acme/app')
    expect(makeStore({ environment: 'production' }).describe('next')).toBe(
      'secret CONVOX_PASSWORD_NEXT of environment production in acme/app'
    )
  })

  it.each(['', '/'])(
    'works below a GitHub Enterprise Server path prefix (API URL ending in %j)',
    async ending => {
      const { fake, makeStore } = await setup({ prefix: '/api/v3' })
      expect(fake.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/v3$/)
      await makeStore({ apiUrl: `${fake.apiUrl}${ending}` }).writeNext(NEW_KEY)

      expect(fake.secrets().get('CONVOX_PASSWORD_NEXT')).toBe(NEW_KEY)
      expect(fake.requests.map(r => r.path)).toEqual([
        '/api/v3/repos/acme/app/actions/secrets/public-key',
        '/api/v3/repos/acme/app/actions/secrets/CONVOX_PASSWORD_NEXT'
      ])
    }
  )

  it('treats deleting a secret that is already gone as done', async () => {
    const { fake, makeStore } = await setup()
    await makeStore().deleteNext()
    expect(fake.requests.map(r => r.status)).toEqual([404])
    expect(fake.ops).toEqual([])
  })

  it('masks the token and every key it is given', async () => {
    const { makeStore, masked } = await setup()
    await makeStore().writeNext(NEW_KEY)
    expect(masked).toEqual(expect.arrayContaining([TOKEN, NEW_KEY]))
  })
})

describe('GitHubSecretStore failures', () => {
  it('says the token is invalid or expired on 401', async () => {
    const { fake, makeStore } = await setup()
    const error = await failureOf(makeStore({ token: 'ghp_expired' }).writeNext(NEW_KEY))
    expect(error.message).toBe(
      'Could not write repository secret CONVOX_PASSWORD_NEXT of acme/app: GitHub answered 401, so the ' +
        'github-token is invalid or expired (GitHub: "Bad credentials").'
    )
    expect(fake.ops).toEqual([])
  })

  it('names the permission a token without it needs on 403', async () => {
    const { makeStore } = await setup()
    const error = await failureOf(makeStore({ token: READ_ONLY_TOKEN }).writeCurrent(NEW_KEY))
    expect(error.message).toMatch(
      /^Could not write repository secret CONVOX_PASSWORD of acme\/app: GitHub answered 403/
    )
    expect(error.message).toMatch(/"Secrets: read and write"/)
    expect(error.message).toMatch(/GITHUB_TOKEN can never write secrets/)
    expect(error.message).toMatch(/Resource not accessible by personal access token/)
  })

  it('on 404 says the token cannot see the repository', async () => {
    const { makeStore } = await setup()
    const error = await failureOf(makeStore({ repository: 'acme/other' }).writeNext(NEW_KEY))
    expect(error.message).toMatch(
      /GitHub answered 404, so the github-token may not write secrets of acme\/other/
    )
  })

  it('on 404 for an environment says it may not exist and names both permissions', async () => {
    const { makeStore } = await setup()
    const error = await failureOf(makeStore({ environment: 'staging' }).writeNext(NEW_KEY))
    expect(error.message).toMatch(
      /^Could not write secret CONVOX_PASSWORD_NEXT of environment staging in acme\/app: GitHub answered 404, so environment staging does not exist in acme\/app/
    )
    expect(error.message).toMatch(/"Secrets: read and write" and "Environments: read and write"/)
  })

  it('retries 502 and resets with backoff, one log line per retry', async () => {
    const { fake, makeStore, lines, slept } = await setup()
    fake.fail({ status: 502 }, { times: 2 })
    fake.fail({ reset: true }, { method: 'PUT' })
    await makeStore().writeNext(NEW_KEY)

    expect(fake.secrets().get('CONVOX_PASSWORD_NEXT')).toBe(NEW_KEY)
    expect(slept).toEqual([250, 500, 250])
    expect(lines).toEqual([
      expect.stringMatching(
        /^GET \/repos\/acme\/app\/actions\/secrets\/public-key on 127\.0\.0\.1:\d+: HTTP 502; retry 1 in 0\.3s/
      ),
      expect.stringMatching(/: HTTP 502; retry 2 in 0\.5s \(0\.3s of 5m spent\)$/),
      expect.stringMatching(
        /^PUT \/repos\/acme\/app\/actions\/secrets\/CONVOX_PASSWORD_NEXT on .*: connection reset; retry 1/
      )
    ])
  })

  it.each([
    ['429', 429],
    ['403 secondary rate limit', 403]
  ])('waits as long as Retry-After says on %s', async (_, status) => {
    const { fake, makeStore, slept } = await setup()
    fake.fail({ status, retryAfter: '7', body: '{"message":"You have exceeded a secondary rate limit."}' })
    await makeStore().writeNext(NEW_KEY)
    expect(slept).toEqual([7000])
    expect(fake.secrets().get('CONVOX_PASSWORD_NEXT')).toBe(NEW_KEY)
  })

  it('gives up when the retry budget is spent, and says so', async () => {
    const { fake, makeStore, slept } = await setup()
    fake.fail({ status: 503 }, { times: 100 })
    const error = await failureOf(makeStore({ retryForMs: 5000 }).writeNext(NEW_KEY))
    expect(error.message).toBe(
      'Could not write repository secret CONVOX_PASSWORD_NEXT of acme/app: GitHub answered 503 until the retries ran out ' +
        '(GitHub: "Server Error").'
    )
    expect(slept).toEqual([250, 500, 1000, 2000])
  })

  it('fails at once when the certificate is not trusted', async () => {
    const { makeStore, slept } = await setup()
    const error = await failureOf(makeStore({ tls: {} }).writeNext(NEW_KEY))
    expect(error.message).toMatch(
      /^Could not write .*: no answer from https:\/\/127\.0\.0\.1:\d+ \(TLS failure/
    )
    expect(slept).toEqual([])
  })

  it('a redirect names where it pointed, as server text', async () => {
    const { fake, makeStore } = await setup()
    fake.fail({
      status: 301,
      headers: { Location: `https://elsewhere.example.com/api ${TOKEN}\t::warning::x` }
    })
    const error = await failureOf(makeStore().writeNext(NEW_KEY))
    expect(error.message).toMatch(
      /GitHub answered 301, a redirect to https:\/\/elsewhere\.example\.com\/api \*\*\* ::warning::x: check GITHUB_API_URL/
    )
  })

  it('quotes a message on one line, with no workflow command at its start', async () => {
    const { fake, makeStore } = await setup()
    fake.fail(
      { status: 422, body: JSON.stringify({ message: '\n::warning::pwned\r\n::stop-commands::x' }) },
      { method: 'PUT' }
    )
    const error = await failureOf(makeStore().writeCurrent(NEW_KEY))
    expect(error.message).toMatch(/\(GitHub: "warning::pwned"\)\.$/)
  })

  it('never shows the key or the token, even when a server echoes them', async () => {
    const { fake, makeStore, lines } = await setup()
    const messages: string[] = []
    const attempt = async (promise: Promise<unknown>) => messages.push((await failureOf(promise)).message)

    // Four attempts fit in two seconds of backoff: the fault is used up when the budget is.
    fake.fail({ status: 500, body: JSON.stringify({ message: `token ${TOKEN} refused` }) }, { times: 4 })
    await attempt(makeStore({ retryForMs: 2000 }).writeNext(NEW_KEY))
    fake.fail({ status: 422, body: JSON.stringify({ message: `bad value ${TOKEN}` }) }, { method: 'PUT' })
    await attempt(makeStore().writeCurrent(NEW_KEY))
    await attempt(makeStore({ token: READ_ONLY_TOKEN }).writeNext(NEW_KEY))
    await attempt(makeStore({ token: `${TOKEN}x` }).writeNext(NEW_KEY))
    await attempt(makeStore({ token: READ_ONLY_TOKEN }).deleteNext())

    expect(lines.length).toBeGreaterThan(0)
    expect(messages).toHaveLength(5)
    for (const text of [...lines, ...messages]) {
      for (const secret of [TOKEN, READ_ONLY_TOKEN, NEW_KEY]) expect(text).not.toContain(secret)
    }
  })
})

describe('gitHubSecretStoreFromEnv', () => {
  it('uses the repository and API URL of the running job', async () => {
    const { fake, clock, log } = await setup()
    const env = { GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: fake.apiUrl }
    const options = {
      token: TOKEN,
      name: 'CONVOX_PASSWORD',
      tls: { caCert: fake.caCert },
      clock,
      log,
      naming: INPUT_NAMING
    }
    await gitHubSecretStoreFromEnv(env, options).writeNext(NEW_KEY)
    expect(fake.secrets().get('CONVOX_PASSWORD_NEXT')).toBe(NEW_KEY)
  })

  it.each([
    [{}, /GITHUB_REPOSITORY is not set/],
    [{ GITHUB_REPOSITORY: 'acme' }, /"acme" is not of the form owner\/repo/],
    [
      { GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: 'http://ghes.example.com/api/v3' },
      /does not use https/
    ],
    [{ GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: 'ghes.example.com' }, /is not a URL/]
  ])('rejects %j', (env, message) => {
    expect(() => gitHubSecretStoreFromEnv(env, baseOptions())).toThrow(InputError)
    expect(() => gitHubSecretStoreFromEnv(env, baseOptions())).toThrow(message)
  })
})

function baseOptions() {
  return {
    token: TOKEN,
    name: 'CONVOX_PASSWORD',
    clock: realClock,
    log: silentLog,
    naming: INPUT_NAMING
  }
}
