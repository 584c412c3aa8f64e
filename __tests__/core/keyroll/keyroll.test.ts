import { afterEach, describe, expect, it } from '@jest/globals'
import { ConvoxApi } from '../../../src/core/api.ts'
import { realClock } from '../../../src/core/clock.ts'
import type {
  KeyrollApi,
  KeyrollOptions,
  KeyrollResult,
  KeyrollTiming
} from '../../../src/core/keyroll/keyroll.ts'
import { KeyrollError, runKeyroll } from '../../../src/core/keyroll/keyroll.ts'
import type { Log } from '../../../src/core/log.ts'
import type { SecretStore } from '../../../src/core/stores/store.ts'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeConvox, FakeConvoxOptions, WindowPhase } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'

const OLD = 'OldRackKeyAbcdefGhijkl0123456789'
const PENDING = 'PendingKeyMnopqrStuvwx9876543210'

/** Real windows of a second or two: the schedule is scaled down with them. */
const FAST: Partial<KeyrollTiming> = {
  firstPollMs: 75,
  pollMs: 60,
  pollJitterMs: 40,
  backoff: { baseMs: 20, capMs: 80 },
  confirmMs: 30,
  oldKeyProbeMs: 250,
  requestTimeoutMs: 1000,
  putTimeoutMs: 800,
  progressMs: 400
}

const NAME = 'CONVOX_PASSWORD'

/** Everything that happened, in order: masking, log lines, store operations, requests. */
type Event = string

class MemoryStore implements SecretStore {
  current: string | undefined
  next: string | undefined
  ops: string[] = []
  failing = new Set<'writeNext' | 'writeCurrent' | 'deleteNext'>()
  /** A failure that quotes the key it was given, as a proxy echoing the request might. */
  failureEchoesKey = false
  private readonly events: Event[]
  private readonly afterChange: () => void

  constructor(current: string, next: string | undefined, events: Event[], afterChange: () => void) {
    this.current = current
    this.next = next
    this.events = events
    this.afterChange = afterChange
  }

  describe(which: 'current' | 'next'): string {
    return `repository secret ${which === 'next' ? `${NAME}_NEXT` : NAME} of acme/app`
  }

  private record(op: 'writeNext' | 'writeCurrent' | 'deleteNext', key?: string): void {
    const entry = key === undefined ? op : `${op}(${label(key)})`
    this.events.push(`store ${entry}`)
    if (this.failing.has(op)) {
      const echo = this.failureEchoesKey && key ? ` (sent ${key})` : ''
      throw new Error(`GitHub answered 403 Resource not accessible by integration for ${op}${echo}`)
    }
    this.ops.push(entry)
  }

  async writeNext(key: string): Promise<void> {
    this.record('writeNext', key)
    this.next = key
    this.afterChange()
  }

  async writeCurrent(key: string): Promise<void> {
    this.record('writeCurrent', key)
    this.current = key
    this.afterChange()
  }

  async deleteNext(): Promise<void> {
    this.record('deleteNext')
    this.next = undefined
    this.afterChange()
  }

  close(): void {}
}

/** Keys are never printed by the tests either: operations show which key, not the key. */
const labels = new Map<string, string>([
  [OLD, 'old'],
  [PENDING, 'pending']
])
function label(key: string): string {
  return labels.get(key) ?? (/^[A-Za-z0-9]{50}$/.test(key) ? 'generated' : 'other')
}

interface Harness {
  fake: FakeConvox
  api: ConvoxApi
  store: MemoryStore
  events: Event[]
  lines: Array<{ level: string; message: string }>
  secrets: string[]
  errors: string[]
  /** Moments at which no stored key would open the rack once it settles. */
  violations: string[]
  run(options?: Partial<KeyrollOptions> & { noStore?: boolean }): Promise<KeyrollResult>
  fails(options?: Partial<KeyrollOptions> & { noStore?: boolean }): Promise<KeyrollError>
  requests(method: string, path?: string): number
}

let current: Harness | undefined

async function harness(
  fakeOptions: Partial<FakeConvoxOptions> = {},
  stored: { current?: string; next?: string } = {}
): Promise<Harness> {
  const fake = await startFakeConvox({
    kind: 'rack',
    ...fakeOptions,
    rack: { password: OLD, ...fakeOptions.rack }
  })
  const api = ConvoxApi.create(fake.host, OLD, { caCert: fake.caCert, insecure: false })
  const events: Event[] = []
  const violations: string[] = []
  const lines: Harness['lines'] = []
  const secrets: string[] = []
  const errors: string[] = []
  let useStore = true
  // The rack's configured key is the one it settles on: some stored key must always be it.
  const check = (when: string) => {
    if (!useStore) return
    const keys = [store.current, store.next]
    if (!keys.includes(fake.rack.password)) violations.push(`${when}: stored keys do not open the rack`)
  }
  const store = new MemoryStore(stored.current ?? OLD, stored.next, events, () => check(events.at(-1) ?? ''))
  const log: Log = {
    info: message => (events.push('info'), lines.push({ level: 'info', message })),
    warning: message => (events.push('warning'), lines.push({ level: 'warning', message })),
    debug: message => (events.push('debug'), lines.push({ level: 'debug', message })),
    secret: value => (events.push(`secret(${label(value)})`), secrets.push(value)),
    group: (_name, fn) => fn()
  }
  const tracked = (inner: KeyrollApi): KeyrollApi => ({
    host: inner.host,
    withPassword: password => tracked(inner.withPassword(password)),
    async send(request) {
      events.push(`${request.method} ${request.path}`)
      try {
        return await inner.send(request)
      } finally {
        check(`after ${request.method} ${request.path}`)
      }
    }
  })
  const h: Harness = {
    fake,
    api,
    store,
    events,
    lines,
    secrets,
    errors,
    violations,
    async run(options = {}) {
      useStore = !options.noStore
      check('start')
      return runKeyroll({
        api: tracked(api),
        kind: 'rack',
        rackVersion: '20240101000000',
        password: OLD,
        timeoutMs: 10_000,
        clock: realClock,
        log,
        naming: INPUT_NAMING,
        timing: FAST,
        store: options.noStore ? undefined : store,
        ...options
      })
    },
    async fails(options = {}) {
      const error = await h.run(options).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(KeyrollError)
      errors.push((error as Error).message)
      return error as KeyrollError
    },
    requests(method, path) {
      return fake.requests.filter(r => r.method === method && (!path || r.path === path)).length
    }
  }
  current = h
  return h
}

afterEach(async () => {
  const h = current
  current = undefined
  if (!h) return
  h.api.close()
  await h.fake.close()
  // No key in any log line or error message, in any form it could take on the wire.
  const keys = new Set([OLD, PENDING, ...h.secrets, h.fake.rack.password, h.fake.keyroll.newPassword ?? ''])
  const forms = [...keys].filter(k => k.length >= 8).flatMap(k => secretForms(k, h.fake.host))
  for (const text of [...h.lines.map(l => l.message), ...h.errors]) {
    for (const form of forms) expect(text.includes(form)).toBe(false)
  }
  expect(h.violations).toEqual([])
})

function putBody(key: string): string {
  return `parameters=Password%3D${key}`
}

const WINDOW: WindowPhase[] = [
  { ms: 250, mode: 'old' },
  { ms: 200, mode: '502' },
  { ms: 200, mode: 'reject' },
  { ms: 200, mode: 'reset' },
  { ms: 200, mode: '503' },
  { ms: 250, mode: 'both' },
  { ms: 200, mode: 'new' }
]

describe('a new keyroll', () => {
  it('rides out the window and makes the new key current', async () => {
    const h = await harness({ keyrollWindow: WINDOW })
    const result = await h.run()
    const noticedAt = Date.now()
    const newKey = h.fake.keyroll.newPassword!
    expect(result.password).toBe(newKey)
    expect(newKey).toMatch(/^[A-Za-z0-9]{50}$/)
    expect(h.fake.rack.password).toBe(newKey)
    expect(result).toMatchObject({ oldKeyRevoked: true, resumed: false })
    expect(result.requests).toBe(h.fake.requests.length)
    expect(noticedAt - h.fake.keyroll.liveAt!).toBeLessThan(1000)
    // One PUT, encoded as the CLI does, with the current key.
    const puts = h.fake.requests.filter(r => r.method === 'PUT')
    expect(puts).toHaveLength(1)
    expect(puts[0]).toMatchObject({ path: '/system', body: putBody(newKey), password: OLD })
    // NEXT before the rack hears of the key; NEXT dropped only once the key is current.
    expect(h.store.ops).toEqual(['writeNext(generated)', 'writeCurrent(generated)', 'deleteNext'])
    expect(h.events.indexOf('store writeNext(generated)')).toBeLessThan(h.events.indexOf('PUT /system'))
    expect(h.store).toMatchObject({ current: newKey, next: undefined })
    // The key is masked before anything else happens.
    expect(h.events[0]).toBe('secret(generated)')
    expect(h.secrets).toContain(newKey)
    // Progress a person can follow, but not a line per poll.
    const progress = h.lines.filter(
      l => l.level === 'info' && /^Keyroll: .* of 10s waiting for/.test(l.message)
    )
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.length).toBeLessThan(result.polls / 3)
    expect(progress.some(l => /rack updating/.test(l.message) && /last error: /.test(l.message))).toBe(true)
  })

  it('is not fooled by keys that flap while the rack updates', async () => {
    const h = await harness({
      keyrollWindow: [
        { ms: 200, mode: 'old' },
        { ms: 1200, mode: 'flap' },
        { ms: 200, mode: 'both' }
      ]
    })
    const result = await h.run()
    expect(Date.now()).toBeGreaterThanOrEqual(h.fake.keyroll.liveAt!)
    expect(result.password).toBe(h.fake.rack.password)
    expect(h.fake.rack.status).toBe('running')
    expect(h.requests('PUT')).toBe(1)
  })

  it('warns when the rack still accepts the old key', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 300, mode: 'both' }], keepOldKey: true })
    const result = await h.run()
    expect(result.oldKeyRevoked).toBe(false)
    expect(h.lines).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(/still accepts the old key/)
    })
  })

  it('works without a store, warning that a later step must keep the key', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 300, mode: 'old' }] })
    const result = await h.run({ noStore: true })
    expect(result.password).toBe(h.fake.rack.password)
    expect(h.lines).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(/without update-secret/)
    })
  })
})

describe('a PUT whose answer is lost', () => {
  it.each([
    ['the connection is cut', { afterApply: 'reset' as const }],
    ['the load balancer answers 502', { afterApply: 502 }],
    ['no answer comes', { afterApply: 'hang' as const }]
  ])('after the rack applied it (%s): waits for that roll, never sends another', async (_name, fault) => {
    const h = await harness({
      keyrollWindow: [
        { ms: 1000, mode: 'old' },
        { ms: 300, mode: 'new' }
      ]
    })
    h.fake.fail(fault, { path: '/system', method: 'PUT' })
    const result = await h.run()
    expect(h.requests('PUT')).toBe(1)
    expect(h.fake.keyroll.puts).toBe(1)
    expect(result.password).toBe(h.fake.rack.password)
    expect(h.lines).toContainEqual({ level: 'warning', message: expect.stringMatching(/no clear answer/) })
  })

  it.each([
    ['the connection is cut', { reset: true as const }],
    ['the load balancer answers 503', { status: 503 }]
  ])(
    'before the rack saw it (%s): finds the roll did not start, sends the same key again',
    async (_name, fault) => {
      const h = await harness({ keyrollWindow: [{ ms: 300, mode: 'old' }] })
      h.fake.fail(fault, { path: '/system', method: 'PUT' })
      const result = await h.run()
      const puts = h.fake.requests.filter(r => r.method === 'PUT')
      expect(puts).toHaveLength(2)
      expect(puts[1]!.body).toBe(puts[0]!.body)
      expect(puts[0]!.body).toBe(putBody(result.password))
      expect(h.fake.keyroll.puts).toBe(1)
      expect(h.store.ops).toEqual(['writeNext(generated)', 'writeCurrent(generated)', 'deleteNext'])
    }
  )
})

describe('a PUT the rack never takes', () => {
  it('gives up after three sends of the same key, dropping the unused key', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 300, mode: 'old' }] })
    h.fake.fail({ reset: true }, { path: '/system', method: 'PUT', times: 3 })
    const error = await h.fails()
    expect(error.message).toMatch(
      /did not start the keyroll after 3 attempts .* accepts only the current key/
    )
    expect(error.pendingPassword).toBeUndefined()
    expect(new Set(h.fake.requests.filter(r => r.method === 'PUT').map(r => r.body)).size).toBe(1)
    expect(h.requests('PUT')).toBe(3)
    expect(h.fake.keyroll.puts).toBe(0)
    expect(h.store.ops).toEqual(['writeNext(generated)', 'deleteNext'])
  })
})

describe('a keyroll that cannot finish', () => {
  const never: WindowPhase[] = [{ ms: Infinity, mode: 'old' }]

  it('times out saying where the new key is and how to finish', async () => {
    const h = await harness({ keyrollWindow: never })
    const error = await h.fails({ timeoutMs: 1200 })
    expect(error.pendingPassword).toBe(h.fake.keyroll.newPassword)
    expect(error.message).toMatch(/did not finish within 1.2s \(keyroll-timeout\)/)
    expect(error.message).toContain(`the new one in repository secret ${NAME}_NEXT of acme/app`)
    expect(error.message).toMatch(
      /run again with keyroll: true and password-next set to repository secret CONVOX_PASSWORD_NEXT/
    )
    expect(h.store).toMatchObject({ current: OLD, next: h.fake.keyroll.newPassword })
  })

  it('times out without a store, pointing at the password output', async () => {
    const h = await harness({ keyrollWindow: never })
    const error = await h.fails({ timeoutMs: 800, noStore: true })
    expect(error.pendingPassword).toBe(h.fake.keyroll.newPassword)
    expect(error.message).toMatch(
      /masked password output of this step only: .* a later step must store it now/
    )
    expect(error.message).toMatch(/password-next/)
  })

  it('stops when the rack rolls the update back, keeping the old key', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 400, mode: 'old' }], keyrollOutcome: 'rollback' })
    const error = await h.fails()
    expect(error.message).toMatch(/rolled the keyroll back/)
    expect(error.pendingPassword).toBeUndefined()
    expect(h.fake.rack.password).toBe(OLD)
    expect(h.store.current).toBe(OLD)
    expect(h.requests('PUT')).toBe(1)
  })

  it('stops when the rack refuses the PUT, dropping the unused key', async () => {
    const h = await harness()
    const error400 = JSON.stringify({ error: 'Parameter InstanceType is invalid' })
    h.fake.fail({ status: 400, body: error400 }, { path: '/system', method: 'PUT' })
    const error = await h.fails()
    expect(error.message).toMatch(
      /refused the keyroll \(HTTP 400: Parameter InstanceType is invalid\): nothing changed/
    )
    expect(error.pendingPassword).toBeUndefined()
    expect(h.store.ops).toEqual(['writeNext(generated)', 'deleteNext'])
  })

  it('a redirect in answer to the PUT names where it pointed; a rack error is quoted as server text', async () => {
    const h = await harness()
    h.fake.fail(
      {
        status: 302,
        headers: { Location: 'https://console.example.com/login' },
        body: JSON.stringify({ error: '\n::warning::pwned\r\nsecond line' })
      },
      { path: '/system', method: 'PUT' }
    )
    const error = await h.fails()
    expect(error.message).toMatch(
      /refused the keyroll \(HTTP 302 to https:\/\/console\.example\.com\/login: warning::pwned\): nothing changed/
    )
  })

  it('stops before the rack when NEXT cannot be written', async () => {
    const h = await harness()
    h.store.failing.add('writeNext')
    const error = await h.fails()
    expect(error.message).toMatch(
      /Could not save the new key to repository secret CONVOX_PASSWORD_NEXT of acme\/app \(GitHub answered 403.*\), so the keyroll stopped before changing the rack/
    )
    expect(error.pendingPassword).toBeUndefined()
    expect(h.requests('PUT')).toBe(0)
    expect(h.store).toMatchObject({ current: OLD, next: undefined })
  })

  it('keeps the live key in NEXT when CURRENT cannot be written', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 200, mode: 'old' }] })
    h.store.failing.add('writeCurrent')
    const error = await h.fails()
    expect(error.pendingPassword).toBe(h.fake.rack.password)
    expect(error.message).toMatch(
      /now uses the new key, but saving it to .* failed .* kept in repository secret CONVOX_PASSWORD_NEXT/
    )
    expect(h.store).toMatchObject({ current: OLD, next: h.fake.rack.password })
  })

  it('scrubs the key from a store failure that quotes it', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 200, mode: 'old' }] })
    h.store.failing.add('writeCurrent')
    h.store.failureEchoesKey = true
    const error = await h.fails()
    expect(error.message).toMatch(/failed \(GitHub answered 403 .* for writeCurrent \(sent \*\*\*\)\)/)
  })

  it('finishes with a warning when NEXT cannot be removed after the key is current', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 200, mode: 'old' }] })
    h.store.failing.add('deleteNext')
    const result = await h.run()
    expect(result.password).toBe(h.fake.rack.password)
    expect(h.store).toMatchObject({ current: result.password, next: result.password })
    expect(h.lines).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(
        /^The new key is saved in repository secret CONVOX_PASSWORD of acme\/app, but removing repository secret CONVOX_PASSWORD_NEXT of acme\/app failed \(GitHub answered 403 .*\); it holds the same key and is harmless/
      )
    })
  })

  it('warns, and still says the rack refused, when the unused key cannot be dropped', async () => {
    const h = await harness()
    h.fake.fail(
      { status: 400, body: JSON.stringify({ error: 'Parameter InstanceType is invalid' }) },
      { path: '/system', method: 'PUT' }
    )
    h.store.failing.add('deleteNext')
    const error = await h.fails()
    expect(error.message).toMatch(
      /^The rack refused the keyroll \(HTTP 400: Parameter InstanceType is invalid\)/
    )
    expect(h.lines).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(
        /^Could not remove the unused key from repository secret CONVOX_PASSWORD_NEXT of acme\/app \(GitHub answered 403 .*\); the next keyroll checks it again\.$/
      )
    })
    // The unused key stays in NEXT, where the next keyroll finds it and drops it.
    expect(h.store).toMatchObject({ current: OLD, next: expect.stringMatching(/^[A-Za-z0-9]{50}$/) })
  })
})

describe('recovery with password-next', () => {
  it('finishes an earlier roll the rack already took, without a new PUT', async () => {
    const h = await harness({ rack: { password: PENDING } }, { current: OLD, next: PENDING })
    const result = await h.run({ passwordNext: PENDING })
    expect(result).toMatchObject({ password: PENDING, resumed: true, oldKeyRevoked: true })
    expect(h.requests('PUT')).toBe(0)
    expect(h.store.ops).toEqual(['writeCurrent(pending)', 'deleteNext'])
    expect(h.store).toMatchObject({ current: PENDING, next: undefined })
  })

  it('waits for an earlier roll still in flight, without a new PUT', async () => {
    const h = await harness(
      {
        keyrollWindow: [
          { ms: 700, mode: 'old' },
          { ms: 300, mode: '503' },
          { ms: 300, mode: 'new' }
        ]
      },
      { current: OLD, next: PENDING }
    )
    // The earlier run: NEXT written, PUT sent, then the job was cancelled.
    const earlier = await h.api.send({
      method: 'PUT',
      path: '/system',
      form: { parameters: `Password=${PENDING}` }
    })
    expect(earlier.status).toBe(200)
    const result = await h.run({ passwordNext: PENDING })
    expect(result).toMatchObject({ password: PENDING, resumed: true })
    expect(h.requests('PUT')).toBe(1)
    expect(h.fake.rack.password).toBe(PENDING)
    expect(h.store.ops).toEqual(['writeCurrent(pending)', 'deleteNext'])
  })

  it('drops a pending key that never took effect, then rolls anew', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 300, mode: 'old' }] }, { current: OLD, next: PENDING })
    const result = await h.run({ passwordNext: PENDING })
    expect(result.resumed).toBe(false)
    expect(result.password).not.toBe(PENDING)
    expect(h.fake.requests.filter(r => r.method === 'PUT').map(r => r.body)).toEqual([
      putBody(result.password)
    ])
    expect(h.store.ops).toEqual([
      'deleteNext',
      'writeNext(generated)',
      'writeCurrent(generated)',
      'deleteNext'
    ])
    expect(h.lines).toContainEqual({ level: 'info', message: expect.stringMatching(/never took effect/) })
  })

  it('treats password-next equal to password as a finished roll', async () => {
    const h = await harness({ keyrollWindow: [{ ms: 200, mode: 'old' }] }, { current: OLD, next: OLD })
    const result = await h.run({ passwordNext: OLD })
    expect(result.resumed).toBe(false)
    expect(h.store.ops).toEqual([
      'deleteNext',
      'writeNext(generated)',
      'writeCurrent(generated)',
      'deleteNext'
    ])
  })

  it('fails clearly when neither key opens the rack', async () => {
    const h = await harness(
      { rack: { password: 'SomeOtherKeyNobodyKnows0000' } },
      { current: OLD, next: PENDING }
    )
    const error = await h.fails({ passwordNext: PENDING, timeoutMs: 600 })
    h.violations.length = 0 // the store never held the rack's key: that is what this case is about
    expect(error.message).toMatch(
      /Neither key opens the rack: .* refused both the password input \(repository secret CONVOX_PASSWORD of acme\/app\) and password-next \(repository secret CONVOX_PASSWORD_NEXT of acme\/app\)/
    )
    expect(error.message).toMatch(
      /CloudFormation stack in the AWS console \(Update stack, parameter Password\)/
    )
    expect(h.requests('PUT')).toBe(0)
    expect(h.store.ops).toEqual([])
  })
})

describe('refusals', () => {
  it('refuses a Console host before sending anything', async () => {
    const h = await harness()
    const error = await h.fails({ kind: 'console' })
    expect(error.message).toMatch(/Console keeps each rack key itself.*"Roll API key" in the Console web UI/)
    expect(h.fake.requests).toHaveLength(0)
  })

  it('refuses a v3 rack known from validation before sending anything', async () => {
    const h = await harness()
    const error = await h.fails({ rackVersion: '3.24.9' })
    expect(error.message).toMatch(/v3 rack \(version 3.24.9\).*Terraform/)
    expect(error.message).not.toMatch(/https?:/)
    expect(h.fake.requests).toHaveLength(0)
  })

  it('refuses a v3 rack found on GET /system, without a PUT', async () => {
    const h = await harness({ rack: { version: '3.1.0' } })
    const error = await h.fails({ rackVersion: '' })
    expect(error.message).toMatch(/v3 rack/)
    expect(h.requests('PUT')).toBe(0)
    expect(h.store.ops).toEqual([])
  })

  it('refuses a rack that is not running after waiting keyroll-timeout', async () => {
    const h = await harness({ rack: { status: 'updating' } })
    const started = Date.now()
    const error = await h.fails({ timeoutMs: 700 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(650)
    expect(error.message).toMatch(
      /the rack is still updating after 0.7s \(keyroll-timeout\).*Nothing was changed/
    )
    expect(h.requests('PUT')).toBe(0)
    expect(h.store.ops).toEqual([])
  })

  it('starts once a busy rack is running again', async () => {
    const h = await harness({ rack: { status: 'updating' }, keyrollWindow: [{ ms: 200, mode: 'old' }] })
    setTimeout(() => (h.fake.rack.status = 'running'), 400)
    const result = await h.run()
    expect(result.password).toBe(h.fake.rack.password)
    expect(h.fake.requests.find(r => r.method === 'PUT')!.time).toBeGreaterThanOrEqual(
      h.fake.requests[0]!.time + 350
    )
  })

  it('refuses a failed rack at once', async () => {
    const h = await harness({ rack: { status: 'failed' } })
    const error = await h.fails()
    expect(error.message).toMatch(/status is failed/)
    expect(h.fake.requests).toHaveLength(1)
  })

  it('refuses when the rack does not accept the password, pointing at password-next', async () => {
    const h = await harness({ rack: { password: 'SomeOtherKeyNobodyKnows0000' } })
    const error = await h.fails()
    h.violations.length = 0
    expect(error.message).toMatch(
      /does not accept the password input .* pass the key it saved \(repository secret CONVOX_PASSWORD_NEXT of acme\/app\) as password-next/
    )
    expect(h.fake.requests).toHaveLength(1)
  })
})
