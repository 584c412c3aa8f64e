import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiRequest, ApiResponse } from '../src/core/api.ts'
import { NetworkError } from '../src/core/api.ts'
import type { Clock } from '../src/core/clock.ts'
import { REQUEST_TIMEOUT_MS } from '../src/core/http/request-defaults.ts'
import type { ConsoleRackModel, ConsoleRackOptions } from './fake-console-racks.ts'
import { consoleRackModel } from './fake-console-racks.ts'
import { verifyRackToken } from './rack-tokens.ts'
import { listenOnLoopback, testTls } from './tls.ts'

/**
 * A loopback HTTPS server that answers like Convox (docs/convox.md, sections 3 to 5):
 * a Rack API, or a Console that lists racks and proxies `Rack:` requests to them. Faults (5xx,
 * 429, resets, hangs) can be queued, and a Rack's keyroll runs through a window of phases in real
 * time, as a CloudFormation update does.
 *
 * The Rack itself is a model that answers one request at a time on whatever clock it is given
 * (`createRackModel`), so the same behaviour also runs in memory on a virtual clock
 * (`simulateRack`): a 120 s keyroll window then takes milliseconds, for schedule tests and benches.
 */

export interface FakeRack {
  name: string
  /** Console organisation; unused for a direct Rack. */
  org?: string
  password: string
  /** v2: 14-digit timestamp; v3: `3.x.y`. */
  version: string
  status: string
  provider: string
  region: string
}

/** How the rack answers during one phase of the keyroll window. */
export type WindowMode =
  | 'old' // only the old key works (old API tasks still serving)
  | 'new' // only the new key works
  | 'both' // both keys work
  | 'flap' // each request goes to an old or a new task at random
  | 'reject' // every key gets 401
  | '502'
  | '503'
  | 'reset' // the connection is cut

export interface WindowPhase {
  /** `Infinity` makes a window that never ends (the rack stays `updating`), to test timeouts. */
  ms: number
  mode: WindowMode
}

export interface ConsoleUser {
  token: string
  id: string
  expired?: boolean
  /** Console answers 401 with `WWW-Authenticate: Session`, the multi-factor flow. */
  mfa?: boolean
}

/** How a Rack behaves: shared by the HTTPS fake and the in-memory simulation. */
export interface RackModelOptions {
  rack?: Partial<FakeRack>
  /** The phases a keyroll goes through before the new key alone works. */
  keyrollWindow?: WindowPhase[]
  /** The old key keeps working after the window (racks that read SSM at start). */
  keepOldKey?: boolean
  /**
   * How the window ends: `complete` (default) with the new key, `rollback` with the old key back,
   * as when CloudFormation rolls a failed update back. Either way the rack is `running` again.
   */
  keyrollOutcome?: 'complete' | 'rollback'
  /**
   * A v3 rack's access tokens: Basic user `jwt` must carry a token signed with this key and not
   * expired, on every route; other users are compared with the password as before.
   */
  tokens?: { signingKey: string }
  /** The rack's Console record and its updates, and its instance keyroll (fake-console-racks.ts). */
  console?: ConsoleRackOptions
}

export interface FakeConvoxOptions extends RackModelOptions {
  kind: 'rack' | 'console' | 'not-convox'
  /** kind console. */
  users?: ConsoleUser[]
  deployKeys?: string[]
  racks?: Array<Partial<FakeRack> & { name: string; org: string; console?: ConsoleRackOptions }>
}

export type Fault =
  | {
      status: number
      /** A function of the request's headers makes a server that echoes what it was sent. */
      body?: string | ((headers: Record<string, string>) => string)
      retryAfter?: string
      headers?: Record<string, string>
    }
  | { reset: true }
  | { hang: true }
  /**
   * The request takes effect (a keyroll PUT is applied) but its answer is lost: the connection is
   * cut, never answered, or answered with this status by a load balancer.
   */
  | { afterApply: 'reset' | 'hang' | number }

export interface FaultOptions {
  path?: string
  /** Only requests with this method (GET, PUT); all when omitted. */
  method?: string
  times?: number
}

export interface RecordedRequest {
  time: number
  method: string
  path: string
  rack?: string
  /** The Basic user name. */
  user?: string
  password?: string
  userAgent?: string
  /** The X-Convox-Actor header. */
  actor?: string
  body: string
  /** 0 when the connection was cut or never answered. */
  status: number
  /** The client's port of the connection it came on (a proxy's, through one); none in a simulation. */
  clientPort?: number
}

/** Keyroll bookkeeping: when the PUT arrived and when the new key alone started to work. */
export interface KeyrollRecord {
  putAt?: number
  /** When the window ends with the new key; `Infinity` for a window that never ends; unset on rollback. */
  liveAt?: number
  oldPassword?: string
  newPassword?: string
  /** PUTs that were applied (not those refused or cut before the rack saw them). */
  puts: number
}

export interface FakeConvox {
  host: string
  port: number
  caCert: string
  requests: RecordedRequest[]
  /** The rack (kind rack) or the Console racks by `org/name`. */
  rack: FakeRack
  consoleRacks: Map<string, FakeRack>
  /** The Console records and instance keys of those racks, by `org/name`; `''` for a direct Rack's. */
  rotations: Map<string, ConsoleRackModel>
  /** Makes the next `times` requests matching `path` and `method` (all when omitted) fail this way. */
  fail(fault: Fault, options?: FaultOptions): void
  keyroll: KeyrollRecord
  close(): Promise<void>
}

/** One request as the rack sees it. */
export interface FakeRequest {
  method: string
  path: string
  user?: string
  password?: string
  body: string
}

export interface FakeAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

export type FakeOutcome = FakeAnswer | { reset: true } | { hang: true }

export interface RackModel {
  rack: FakeRack
  keyroll: KeyrollRecord
  /** Console's record of the rack, its updates and its instance keys. */
  console: ConsoleRackModel
  /**
   * Answers one request as the rack would now: window phase, status, keys. `trusted` skips the
   * rack's own authentication, as for requests Console proxies.
   */
  handle(request: FakeRequest, trusted?: boolean): FakeOutcome
  /** Ends the window if its time has passed: status `running`, the new key (or the old on rollback). */
  settle(): void
}

const RACK_DEFAULTS: FakeRack = {
  name: 'production',
  password: 'rack-password',
  version: '20240101000000',
  status: 'running',
  provider: 'aws',
  region: 'us-east-1'
}

export interface RackModelClock {
  now: () => number
  random: () => number
  /** Called after a PUT with the window's length, so a real-time fake can flip the status on time. */
  onWindow?: (ms: number, settle: () => void) => void
}

export function createRackModel(
  options: RackModelOptions,
  clock: RackModelClock = { now: Date.now, random: Math.random }
): RackModel {
  return modelFor({ ...RACK_DEFAULTS, ...options.rack }, options, clock)
}

function modelFor(rack: FakeRack, options: RackModelOptions, clock: RackModelClock): RackModel {
  const keyroll: KeyrollRecord = { puts: 0 }
  const rotation = consoleRackModel(rack, options.console ?? {}, clock)
  let windowEndsAt: number | undefined

  function settle(): void {
    if (windowEndsAt === undefined || clock.now() < windowEndsAt || rack.status !== 'updating') return
    if (options.keyrollOutcome === 'rollback' && keyroll.oldPassword !== undefined)
      rack.password = keyroll.oldPassword
    rack.status = 'running'
  }

  /** The rack's mode now: the window phase we are in, or the steady state. */
  function mode(): WindowMode | 'steady' {
    if (keyroll.putAt === undefined || windowEndsAt === undefined) return 'steady'
    let t = clock.now() - keyroll.putAt
    for (const phase of options.keyrollWindow ?? []) {
      if (t < phase.ms) return phase.mode
      t -= phase.ms
    }
    return 'steady'
  }

  function accepts(password: string | undefined, current: WindowMode | 'steady'): boolean {
    if (password === undefined) return false
    const oldOk = password === keyroll.oldPassword
    const newOk = password === keyroll.newPassword
    switch (current) {
      case 'steady':
        return password === rack.password || (oldOk && !!options.keepOldKey)
      case 'old':
        return oldOk
      case 'new':
        return newOk
      case 'both':
        return oldOk || newOk
      case 'flap':
        return clock.random() < 0.5 ? oldOk : newOk
      default:
        return false
    }
  }

  function put(body: string): FakeAnswer {
    if (rack.version.startsWith('3.')) return text(500, 'not implemented\n')
    // The CLI sends `parameters=Password%3D<new>`: the form value is itself a form.
    const params = new URLSearchParams(new URLSearchParams(body).get('parameters') ?? '')
    const next = params.get('Password')
    if (next === null) return text(200, 'ok\n')
    if (next.length < 1 || next.length > 50) {
      return json(400, {
        error: 'Parameter Password failed to satisfy constraint: must be 1 to 50 characters'
      })
    }
    if (rack.status !== 'running') {
      return json(400, { error: `Stack ${rack.name} is in UPDATE_IN_PROGRESS state and can not be updated.` })
    }
    keyroll.puts++
    keyroll.oldPassword = rack.password
    keyroll.newPassword = next
    keyroll.putAt = clock.now()
    rack.password = next
    rack.status = 'updating'
    const windowMs = (options.keyrollWindow ?? []).reduce((sum, p) => sum + p.ms, 0)
    windowEndsAt = keyroll.putAt + windowMs
    keyroll.liveAt = options.keyrollOutcome === 'rollback' ? undefined : windowEndsAt
    if (Number.isFinite(windowMs)) clock.onWindow?.(windowMs, settle)
    return text(200, 'ok\n')
  }

  function handle(request: FakeRequest, trusted = false): FakeOutcome {
    settle()
    rotation.status()
    const current = trusted ? 'steady' : mode()
    if (current === 'reset') return { reset: true }
    if (current === '502' || current === '503') {
      return {
        status: Number(current),
        headers: { 'Content-Type': 'text/html' },
        body: `<html><body>${current} Bad Gateway</body></html>`
      }
    }
    const refuse = (body: string): FakeAnswer => {
      const headers: Record<string, string> = { 'Content-Type': 'text/plain' }
      if (rack.version.startsWith('3.')) headers['WWW-Authenticate'] = 'Basic realm="convox"'
      return { status: 401, headers, body }
    }
    if (!trusted && options.tokens && request.user === 'jwt') {
      const verdict = verifyRackToken(options.tokens.signingKey, request.password ?? '', clock.now())
      if ('reason' in verdict) return refuse(`invalid authentication: ${verdict.reason}\n`)
    } else if (!trusted && !accepts(request.password, current)) {
      return refuse('invalid authentication\n')
    }
    if (request.method === 'GET' && request.path === '/auth') return text(200, 'ok\n')
    if (request.method === 'GET' && request.path === '/system') return json(200, systemBody(rack))
    if (request.method === 'PUT' && request.path === '/system') return put(request.body)
    if (request.method === 'POST' && request.path === '/instances/keyroll')
      return rotation.handleProxied(request)!
    return text(404, 'not found\n')
  }

  return { rack, keyroll, console: rotation, handle, settle }
}

function systemBody(r: FakeRack): unknown {
  return {
    name: r.name,
    status: r.status,
    version: r.version,
    provider: r.provider,
    region: r.region,
    count: 3,
    type: 't3.small',
    domain: `router.${r.name}.example.convox.site`,
    'rack-domain': `api.${r.name}.example.convox.site`,
    outputs: {},
    parameters: { Password: '****', InstanceType: 't3.small' }
  }
}

function text(status: number, body: string): FakeAnswer {
  return { status, headers: { 'Content-Type': 'text/plain' }, body }
}

function json(status: number, value: unknown): FakeAnswer {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) }
}

function createFaultQueue() {
  const faults: Array<{ fault: Fault; options: FaultOptions; times: number }> = []
  return {
    add(fault: Fault, options: FaultOptions = {}) {
      faults.push({ fault, options, times: options.times ?? 1 })
    },
    take(method: string, path: string): Fault | undefined {
      const entry = faults.find(
        f =>
          f.times > 0 &&
          (!f.options.path || f.options.path === path) &&
          (!f.options.method || f.options.method.toUpperCase() === method)
      )
      if (!entry) return undefined
      entry.times--
      return entry.fault
    }
  }
}

/** The answer a request gets when a fault is queued for it; `answer` is what the server would say. */
function withFault(
  fault: Fault | undefined,
  answer: () => FakeOutcome,
  requestHeaders: Record<string, string> = {}
): FakeOutcome {
  if (!fault) return answer()
  if ('afterApply' in fault) {
    answer()
    if (fault.afterApply === 'reset') return { reset: true }
    if (fault.afterApply === 'hang') return { hang: true }
    return {
      status: fault.afterApply,
      headers: { 'Content-Type': 'text/html' },
      body: `<html><body>${fault.afterApply}</body></html>`
    }
  }
  if ('reset' in fault) return { reset: true }
  if ('hang' in fault) return { hang: true }
  const headers: Record<string, string> = { ...fault.headers }
  if (fault.retryAfter !== undefined) headers['Retry-After'] = fault.retryAfter
  const body = typeof fault.body === 'function' ? fault.body(requestHeaders) : fault.body
  return { status: fault.status, headers, body: body ?? `${fault.status} fault\n` }
}

export async function startFakeConvox(options: FakeConvoxOptions): Promise<FakeConvox> {
  const tls = testTls()
  const timers = new Set<NodeJS.Timeout>()
  const model = createRackModel(options, {
    now: Date.now,
    random: Math.random,
    onWindow: (ms, settle) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        settle()
      }, ms)
      timers.add(timer)
    }
  })
  const consoleModels = new Map<string, RackModel>()
  for (const r of options.racks ?? []) {
    consoleModels.set(
      `${r.org}/${r.name}`,
      modelFor({ ...RACK_DEFAULTS, ...r }, { console: r.console }, { now: Date.now, random: Math.random })
    )
  }
  const consoleRacks = new Map([...consoleModels].map(([name, m]) => [name, m.rack]))
  const requests: RecordedRequest[] = []
  const faults = createFaultQueue()

  function handleConsole(req: IncomingMessage, request: FakeRequest): FakeOutcome {
    const user = options.users?.find(u => u.token === request.password)
    const deployKey = request.password !== undefined && (options.deployKeys ?? []).includes(request.password)
    if (user?.mfa) {
      return {
        status: 401,
        headers: { 'WWW-Authenticate': 'Session path="/session" token="abc"' },
        body: 'session required\n'
      }
    }
    if (user?.expired) return json(401, { error: 'cli token is expired, please log in again' })
    if (request.method === 'GET' && request.path === '/auth') {
      if (user) return json(200, { id: user.id })
      return text(401, 'invalid authentication\n')
    }
    if (!user && !deployKey) return text(401, 'invalid authentication\n')
    const recordAnswer = consoleModels
      .get(request.path.slice('/racks/'.length))
      ?.console.handleRecord(request)
    if (recordAnswer) return recordAnswer
    if (request.method === 'GET' && request.path === '/racks') {
      for (const m of consoleModels.values()) m.console.status()
      return json(
        200,
        [...consoleRacks.values()].map(r => ({
          name: r.name,
          organization: { name: r.org },
          status: r.status,
          provider: r.provider,
          version: r.version
        }))
      )
    }
    const rackName = header(req, 'rack')
    if (!rackName) return json(404, { error: 'no rack specified' })
    const target = consoleModels.get(rackName)
    if (!target) return json(404, { error: `could not find rack: ${rackName}` })
    return target.console.handleProxied(request) ?? target.handle(request, true)
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const path = (req.url ?? '/').split('?')[0]!
      const method = req.method ?? ''
      const { user, password } = basicCredentials(req)
      const record: RecordedRequest = {
        time: Date.now(),
        method,
        path,
        rack: header(req, 'rack'),
        user,
        password,
        userAgent: header(req, 'user-agent'),
        actor: header(req, 'x-convox-actor'),
        body,
        status: 0,
        clientPort: req.socket.remotePort!
      }
      requests.push(record)
      const request: FakeRequest = { method, path, user, password, body }
      const requestHeaders = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, String(value)])
      )
      const outcome = withFault(
        faults.take(method, path),
        () => {
          if (options.kind === 'not-convox') {
            return {
              status: 404,
              headers: { 'Content-Type': 'text/html' },
              body: '<html><body>404 Not Found</body></html>'
            }
          }
          if (options.kind === 'console') return handleConsole(req, request)
          return model.handle(request)
        },
        requestHeaders
      )
      if ('reset' in outcome) return void req.socket.destroy()
      if ('hang' in outcome) return
      record.status = send(res, outcome)
    })
  })
  const { port, close } = await listenOnLoopback(server)

  return {
    host: `127.0.0.1:${port}`,
    port,
    caCert: tls.caCert,
    requests,
    rack: model.rack,
    consoleRacks,
    rotations: new Map([['', model.console], ...[...consoleModels].map(([n, m]) => [n, m.console] as const)]),
    keyroll: model.keyroll,
    fail: faults.add,
    close() {
      for (const timer of timers) clearTimeout(timer)
      return close()
    }
  }
}

/** What a ConvoxApi offers, answered by a simulated rack instead of a server. */
export interface SimulatedApi {
  readonly host: string
  send(request: ApiRequest): Promise<ApiResponse>
  withPassword(password: string): SimulatedApi
  close(): void
}

export interface SimulatedRack {
  rack: FakeRack
  keyroll: KeyrollRecord
  requests: RecordedRequest[]
  fail(fault: Fault, options?: FaultOptions): void
  /** A ConvoxApi stand-in authenticated with `password`. */
  api(password: string): SimulatedApi
}

export interface SimulateRackOptions extends RackModelOptions {
  /** Drives the rack's time and the requests' latency; a virtual clock makes long windows instant. */
  clock: Clock
  /** Time each request takes; default 20 ms. */
  latencyMs?: number
}

/**
 * The Rack of `startFakeConvox` without a server: requests are answered in memory on `clock`, a
 * cut connection or a hang raises the NetworkError ConvoxApi would. For schedule tests and benches
 * on a virtual clock; behaviour over real HTTPS is tested against `startFakeConvox`.
 */
export function simulateRack(options: SimulateRackOptions): SimulatedRack {
  const { clock } = options
  const model = createRackModel(options, { now: () => clock.now(), random: () => clock.random() })
  const requests: RecordedRequest[] = []
  const faults = createFaultQueue()
  const latencyMs = options.latencyMs ?? 20

  function api(password: string): SimulatedApi {
    return {
      host: 'simulated-rack',
      withPassword: api,
      close: () => undefined,
      async send(request) {
        const record = await simulatedArrival(requests, clock, request, { password }, latencyMs)
        const { body } = record
        const outcome = withFault(faults.take(request.method, request.path), () =>
          model.handle({ method: request.method, path: request.path, password, body })
        )
        if ('reset' in outcome) throw new NetworkError('reset', true, 'ECONNRESET', 'socket hang up')
        if ('hang' in outcome) {
          const timeoutMs = request.timeoutMs ?? REQUEST_TIMEOUT_MS
          await clock.sleep(Math.max(0, timeoutMs - latencyMs))
          throw new NetworkError(
            'timeout',
            true,
            'ETIMEDOUT',
            `no answer within ${Math.round(timeoutMs / 1000)}s`
          )
        }
        record.status = outcome.status
        return { status: outcome.status, headers: lowerCase(outcome.headers), body: outcome.body }
      }
    }
  }

  return { rack: model.rack, keyroll: model.keyroll, requests, fail: faults.add, api }
}

/** Header names as Node's client gives them (lower case), for a simulated answer. */
export function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

/**
 * A request reaching a simulated API (this file's and fake-v3-rack.ts's): noted in `requests` as
 * the loopback servers note theirs (status 0 until answered), its form encoded as the client sends
 * it, after `latencyMs` of the clock.
 */
export async function simulatedArrival(
  requests: RecordedRequest[],
  clock: { now: () => number; sleep: (ms: number) => Promise<void> },
  request: { method: string; path: string; form?: Record<string, string> },
  credentials: { user?: string; password: string },
  latencyMs: number
): Promise<RecordedRequest> {
  const record: RecordedRequest = {
    time: clock.now(),
    method: request.method,
    path: request.path,
    ...credentials,
    body: request.form ? new URLSearchParams(request.form).toString() : '',
    status: 0
  }
  requests.push(record)
  await clock.sleep(latencyMs)
  return record
}

/** The request's plumbing, shared with the other loopback fakes (fake-v3-rack.ts). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export function basicCredentials(req: IncomingMessage): { user?: string; password?: string } {
  const match = /^Basic (.+)$/.exec(header(req, 'authorization') ?? '')
  if (!match) return {}
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? {} : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

export function send(res: ServerResponse, answer: FakeAnswer): number {
  res.writeHead(answer.status, answer.headers)
  res.end(answer.body)
  return answer.status
}
