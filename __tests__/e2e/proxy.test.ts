import { afterAll, describe, expect, test } from '@jest/globals'
import { rootCertificates } from 'node:tls'
import type { FakeConvox } from '../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../test-support/fake-convox.ts'
import type { FakeGitHub } from '../../test-support/fake-github.ts'
import { startFakeGitHub } from '../../test-support/fake-github.ts'
import { fakeCli } from '../../test-support/fake-cli.ts'
import { LATEST_RELEASE_PATH, latestRelease, startFakeMirror } from '../../test-support/fake-mirror.ts'
import type { FakeProxy, FakeProxyOptions } from '../../test-support/proxy.ts'
import { startFakeProxy } from '../../test-support/proxy.ts'
import type { StepResult } from '../../test-support/run-action.ts'
import { findLeaks, runnerPool, runStep, runStepTrustingInputs } from '../../test-support/run-action.ts'

/**
 * The bundled action behind a loopback CONNECT proxy, as on a self-hosted runner that reaches
 * Convox and GitHub only through one: HTTPS_PROXY in the step's environment, and every request of
 * a login, a Console switch, a keyroll and a `latest` lookup must come through a tunnel of the
 * proxy (each fake records the client port of every request; the proxy, the ports of its tunnels).
 * Node proxies loopback too unless NO_PROXY says otherwise, so the fakes on 127.0.0.1 are reached
 * as a rack on the internet would be.
 */

const RACK_KEY = 'ProxiedRackKey0123456789abcdefGHIJ'
const CONSOLE_TOKEN = 'ProxiedConsoleToken0123456789abcdef'
const GITHUB_TOKEN = 'github_pat_11ProxiedWriteToken0123456789'
const PROXY_AUTH = { user: 'ci-runner', password: 'Pr0xy-P@ss:w0rd/42' }
const VERSION = '3.24.9'
const ASSET = process.arch === 'arm64' ? 'convox-linux-arm64' : 'convox-linux'

const runners = runnerPool()
const stops: Array<() => Promise<void>> = []
afterAll(async () => {
  await Promise.all(stops.map(stop => stop()))
  runners.removeAll()
})

async function proxy(options: FakeProxyOptions = {}): Promise<FakeProxy> {
  const started = await startFakeProxy(options)
  stops.push(() => started.stop())
  return started
}

async function rack(): Promise<FakeConvox> {
  const fake = await startFakeConvox({
    kind: 'rack',
    rack: { password: RACK_KEY },
    keyrollWindow: [
      { ms: 300, mode: '503' },
      { ms: 300, mode: 'flap' }
    ]
  })
  stops.push(() => fake.close())
  return fake
}

async function consoleWithRack(): Promise<FakeConvox> {
  const fake = await startFakeConvox({
    kind: 'console',
    users: [{ token: CONSOLE_TOKEN, id: 'user-proxied' }],
    racks: [{ org: 'acme', name: 'production', version: '3.24.9' }]
  })
  stops.push(() => fake.close())
  return fake
}

async function github(): Promise<FakeGitHub> {
  const fake = await startFakeGitHub({ repository: 'acme/app', tokens: [GITHUB_TOKEN] })
  stops.push(() => fake.close())
  return fake
}

/** Every request a fake recorded came through one of the proxy's tunnels, and there was at least one. */
function allThrough(through: FakeProxy, requests: ReadonlyArray<{ clientPort?: number }>): void {
  expect(requests.length).toBeGreaterThan(0)
  expect(requests.filter(r => !through.carried(r.clientPort!))).toEqual([])
}

/** The proxy password in every form it could leak in: raw, URL-encoded, in Basic credentials, the whole URL. */
function proxyLeaks(step: StepResult, through: FakeProxy): string[] {
  const { user, password } = PROXY_AUTH
  const forms = [
    password,
    encodeURIComponent(password),
    Buffer.from(`${user}:${password}`).toString('base64'),
    through.url
  ]
  return `${step.stdout}\n${step.stderr}`.split('\n').filter(line => forms.some(form => line.includes(form)))
}

function describeStep(step: StepResult): string {
  return `exit ${step.code}\n${step.stdout}\n${step.stderr}`
}

describe('the action behind an HTTPS proxy', () => {
  test.concurrent('a Console login switched to a rack: every request through the proxy', async () => {
    const fake = await consoleWithRack()
    const through = await proxy({ auth: PROXY_AUTH })
    const step = await runStep(
      runners.fresh(),
      { host: fake.host, password: CONSOLE_TOKEN, rack: 'acme/production' },
      { env: { HTTPS_PROXY: through.url } }
    )
    expect({ code: step.code, error: step.error }).toEqual({ code: 0, error: undefined })
    expect(step.outputs).toMatchObject({
      kind: 'console',
      rack: 'acme/production',
      'user-id': 'user-proxied'
    })
    expect(fake.requests.map(r => [r.method, r.path, r.rack])).toEqual([
      ['GET', '/auth', undefined],
      ['GET', '/racks', undefined],
      ['GET', '/system', 'acme/production']
    ])
    allThrough(through, fake.requests)
    // One connection carries the login, through one tunnel.
    expect(through.connects).toEqual([{ target: fake.host, status: 200 }])
    expect(findLeaks(step, [CONSOLE_TOKEN], { host: fake.host })).toEqual([])
    expect(proxyLeaks(step, through)).toEqual([])
  })

  test.concurrent('a keyroll: the rack and the GitHub API, every request through the proxy', async () => {
    const [fake, gh, through] = await Promise.all([rack(), github(), proxy()])
    gh.secrets().set('CONVOX_PASSWORD', RACK_KEY)
    const step = await runStep(
      runners.fresh(),
      {
        host: fake.host,
        password: RACK_KEY,
        keyroll: 'true',
        'keyroll-timeout': '20s',
        'update-secret': 'CONVOX_PASSWORD',
        'github-token': GITHUB_TOKEN
      },
      { env: { HTTPS_PROXY: through.url, GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: gh.apiUrl } }
    )
    expect({ code: step.code, error: step.error }).toEqual({ code: 0, error: undefined })
    const newKey = fake.rack.password
    expect(newKey).not.toBe(RACK_KEY)
    expect(gh.secrets().get('CONVOX_PASSWORD')).toBe(newKey)
    expect(fake.keyroll.puts).toBe(1)
    allThrough(through, fake.requests)
    allThrough(through, gh.requests)
    expect(through.tunnelsTo(fake.host)).toBeGreaterThan(0)
    expect(through.tunnelsTo(new URL(gh.apiUrl).host)).toBeGreaterThan(0)
    expect(findLeaks(step, [RACK_KEY], { host: fake.host, made: [newKey] })).toEqual([])
  })

  test.concurrent('cli-version latest: the GitHub API lookup through the proxy', async () => {
    const fake = await rack()
    const mirror = await startFakeMirror({
      [LATEST_RELEASE_PATH]: latestRelease(VERSION),
      [`/convox/${VERSION}/${ASSET}`]: { body: fakeCli() }
    })
    stops.push(() => mirror.close())
    const runner = runners.fresh()
    const inputs = {
      host: fake.host,
      password: RACK_KEY,
      'cli-download-url': `${mirror.url}/convox/{version}/{asset}`
    }
    // Cached by an earlier job without the proxy: tool-cache, which downloads, reads the proxy
    // variables itself and never proxies loopback, so the proxied job sends only our requests.
    const first = await runStep(runner, { ...inputs, 'cli-version': VERSION })
    expect(first.error).toBeUndefined()
    const before = { mirror: mirror.requests.length, rack: fake.requests.length }
    const through = await proxy()
    const step = await runStep(
      runners.fresh(),
      { ...inputs, 'cli-version': 'latest' },
      { env: { HTTPS_PROXY: through.url, GITHUB_API_URL: mirror.url, RUNNER_TOOL_CACHE: runner.toolCache } }
    )
    expect({ code: step.code, error: step.error }).toEqual({ code: 0, error: undefined })
    expect(step.outputs['cli-version']).toBe(VERSION)
    const lookups = mirror.requests.slice(before.mirror)
    expect(lookups.map(r => r.path)).toEqual([LATEST_RELEASE_PATH])
    allThrough(through, lookups)
    allThrough(through, fake.requests.slice(before.rack))
  })

  test.concurrent(
    'verifies the rack through the tunnel: a CA that did not sign it fails with the TLS sentence',
    async () => {
      const fake = await rack()
      const through = await proxy()
      const step = await runStepTrustingInputs(
        runners.fresh(),
        { host: fake.host, password: RACK_KEY, 'ca-cert': rootCertificates[0]! },
        { env: { HTTPS_PROXY: through.url } }
      )
      expect(step.code).toBe(1)
      expect(step.error).toMatch(
        new RegExp(
          `^TLS verification of ${fake.host} through the proxy ${through.name} failed \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\): ` +
            'for a rack with a self-signed certificate pass its CA in ca-cert'
        )
      )
      expect(through.tunnelsTo(fake.host)).toBe(1)
      expect(fake.requests).toEqual([])
    }
  )

  test.concurrent('NO_PROXY sends the host past the proxy', async () => {
    const fake = await rack()
    const through = await proxy()
    for (const noProxy of ['127.0.0.1', fake.host, '*']) {
      const step = await runStep(
        runners.fresh(),
        { host: fake.host, password: RACK_KEY },
        { env: { https_proxy: through.url, NO_PROXY: noProxy } }
      )
      expect({ code: step.code, error: step.error }).toEqual({ code: 0, error: undefined })
    }
    expect(fake.requests.length).toBeGreaterThan(0)
    expect(through.connects).toEqual([])
  })

  test.concurrent('a dead proxy: retried, then one sentence that names it, never its password', async () => {
    const fake = await rack()
    const dead = await proxy({ auth: PROXY_AUTH })
    await dead.stop()
    const step = await runStep(
      runners.fresh(),
      { host: fake.host, password: RACK_KEY, 'retry-for': '2s' },
      { env: { HTTPS_PROXY: dead.url } }
    )
    expect(step.code).toBe(1)
    expect(step.error).toBe(
      `Cannot reach ${fake.host}: the proxy ${dead.name} refused the connection (within retry-for, 2s); ` +
        `check HTTPS_PROXY, or add ${fake.host} to NO_PROXY if the runner reaches it directly.`
    )
    expect(step.stdout).toMatch(
      new RegExp(`GET /auth on ${fake.host}: the proxy ${dead.name} refused the connection; retry 1 in`)
    )
    expect(fake.requests).toEqual([])
    expect(proxyLeaks(step, dead)).toEqual([])
    expect(findLeaks(step, [RACK_KEY], { host: fake.host })).toEqual([])
  })

  test.concurrent(
    'proxy credentials: taken from HTTPS_PROXY, never printed; wrong ones: 407, not retried',
    async () => {
      const fake = await rack()
      const through = await proxy({ auth: PROXY_AUTH })
      const good = await runStep(
        runners.fresh(),
        { host: fake.host, password: RACK_KEY },
        { env: { HTTPS_PROXY: through.url } }
      )
      expect({ code: good.code, error: good.error }).toEqual({ code: 0, error: undefined })
      allThrough(through, fake.requests)
      expect(proxyLeaks(good, through)).toEqual([])

      const wrong = through.url.replace(encodeURIComponent(PROXY_AUTH.password), 'not-the-password')
      const refused = await runStep(
        runners.fresh(),
        { host: fake.host, password: RACK_KEY, 'retry-for': '30s' },
        { env: { HTTPS_PROXY: wrong } }
      )
      expect(refused.code).toBe(1)
      expect(refused.error).toBe(
        `Cannot reach ${fake.host}: the proxy ${through.name} refused the user and password in HTTPS_PROXY (HTTP 407); ` +
          `check HTTPS_PROXY, or add ${fake.host} to NO_PROXY if the runner reaches it directly.`
      )
      expect(through.connects.filter(c => c.status === 407)).toHaveLength(1)
      expect(refused.stdout).not.toContain('not-the-password')
      expect(refused.durationMs).toBeLessThan(10_000)
    }
  )

  test.concurrent('a proxy variable that is not an http:// URL: one sentence, nothing sent', async () => {
    const fake = await rack()
    const step = await runStep(
      runners.fresh(),
      { host: fake.host, password: RACK_KEY },
      { env: { HTTPS_PROXY: `socks5://${PROXY_AUTH.user}:${PROXY_AUTH.password}@127.0.0.1:1080` } }
    )
    expect(step.code).toBe(1)
    expect(step.error).toMatch(
      /^HTTPS_PROXY does not start with http:\/\/ or https:\/\/: set it to the proxy's URL/
    )
    expect(describeStep(step)).not.toContain(PROXY_AUTH.password)
    expect(fake.requests).toEqual([])
  })
})
