import https from 'node:https'
import type { FakeAnswer, FakeRequest, RecordedRequest } from './fake-convox.ts'
import { basicCredentials, header, lowerCase, send, simulatedArrival } from './fake-convox.ts'
import type { RackTokenClaims } from './rack-tokens.ts'
import { mintRackToken, verifyRackToken } from './rack-tokens.ts'
import { listenOnLoopback, testTls } from './tls.ts'

/**
 * A v3 rack's API as docs/convox.md describes it (rack access tokens, roles, the signing key),
 * read from convox/convox `pkg/api` and `provider/k8s`:
 * - every route checks a role: the rack password is admin (`rwa`), a token has its own; every GET
 *   needs `r`, everything else `w`, and a role too small gets 401 `you are unauthorized to access
 *   this` (GET /auth checks the credential only);
 * - `POST /system/jwt/token` mints with its exact errors; `PUT /system/jwt/rotate` is admin only;
 * - the API runs as several processes, each of which reads the signing key once at start; a
 *   rotation restarts them one after another (a rolling update), and each request lands on one of
 *   them at random: until the last restarts, old processes accept old tokens and mint with the old
 *   key, new ones accept only the new key.
 * Racks before 3.24.6 answer an unknown role (admin among them) with 200 and an empty token.
 *
 * The model answers one request at a time on any clock, so it also runs on a virtual clock for
 * schedule tests and benches; `startFakeV3Rack` serves it over loopback HTTPS, and
 * `startFakeV3Console` puts a Console in front that proxies `Rack:` requests to it.
 */

export interface V3RackOptions {
  name?: string
  password: string
  signingKey: string
  /** `3.x.y`; default 3.24.9. */
  version?: string
  /** API processes; default 2. */
  processes?: number
  /** How long one process takes to restart in a rotation; default 10 s. */
  restartMs?: number
  /** `GET /system` `rack-domain`; default the server's own host. `''`: the rack reports none. */
  rackDomain?: string
  /** A rack older than the route: `POST /system/jwt/token` is 404. */
  noMintRoute?: boolean
  /**
   * Over loopback: `PUT /system/jwt/rotate` is held this long before the rack reads it, and a
   * caller that goes away meanwhile (killed) never rotated anything, as if it never sent it.
   */
  holdRotateMs?: number
}

export interface V3Clock {
  now: () => number
  random: () => number
}

export interface V3RackModel {
  /** The key new processes read: the latest rotation's. */
  readonly signingKey: string
  /** Signing keys of the processes now. */
  processKeys(): string[]
  rotations: number[]
  /** When the last rotation's rolling restart ends; undefined before any. */
  restartEndsAt(): number | undefined
  rackDomain: string
  handle(request: FakeRequest): FakeAnswer
  /** A token signed with the key of the processes now (the first's), as one of them would mint it. */
  mint(role: RackTokenClaims['role'], hours: number): string
}

const ROLE_OF: Record<string, RackTokenClaims['role']> = { read: 'r', write: 'rw', admin: 'rwa' }

export function createV3RackModel(options: V3RackOptions, clock: V3Clock): V3RackModel {
  const version = options.version ?? '3.24.9'
  const legacy = compareVersion(version, '3.24.6') < 0
  const count = options.processes ?? 2
  const restartMs = options.restartMs ?? 10_000
  let signingKey = options.signingKey
  /** Each process: the key it read and, during a rotation, when it restarts onto the next. */
  const processes = Array.from({ length: count }, () => ({ key: signingKey, restartAt: 0, nextKey: '' }))
  const rotations: number[] = []
  let endsAt: number | undefined

  function settle(): void {
    for (const p of processes) {
      if (p.nextKey && clock.now() >= p.restartAt) {
        p.key = p.nextKey
        p.nextKey = ''
      }
    }
  }

  function rotate(): void {
    const at = clock.now()
    signingKey = `${options.signingKey}-rotated-${rotations.length + 1}`
    rotations.push(at)
    processes.forEach((p, i) => {
      p.nextKey = signingKey
      p.restartAt = at + (i + 1) * restartMs
    })
    endsAt = at + count * restartMs
  }

  function systemBody(model: V3RackModel): unknown {
    return {
      name: options.name ?? 'production',
      status: 'running',
      version,
      provider: 'gcp',
      region: 'us-east1',
      count: count,
      type: 'e2-standard-2',
      domain: `router.${options.name ?? 'production'}.example.convox.site`,
      'rack-domain': model.rackDomain,
      outputs: {},
      parameters: { Password: '****' }
    }
  }

  function mintAnswer(form: URLSearchParams, callerRole: string, key: string): FakeAnswer {
    if (options.noMintRoute) return text(404, 'not found\n')
    const role = ROLE_OF[form.get('role') ?? '']
    if (legacy && (!role || role === 'rwa')) return json(200, { token: '' })
    const hours = form.get('durationInHour') ?? ''
    if (!/^-?\d+$/.test(hours)) return json(400, { error: 'invalid duration' })
    if (!legacy && (Number(hours) < 1 || Number(hours) > 8760)) {
      return json(400, { error: 'duration must be between 1 and 8760 hours' })
    }
    if (!role) return json(400, { error: 'invalid role: must be read, write, or admin' })
    if (role === 'rwa' && callerRole !== 'rwa') {
      return json(403, { error: 'admin role required to mint admin tokens' })
    }
    const expiresAt = Math.floor(clock.now() / 1000) + Number(hours) * 3600
    return json(200, { token: mintRackToken(key, { role, expiresAt }) })
  }

  const model: V3RackModel = {
    get signingKey() {
      return signingKey
    },
    processKeys: () => {
      settle()
      return processes.map(p => p.key)
    },
    rotations,
    restartEndsAt: () => endsAt,
    rackDomain: options.rackDomain ?? '',
    mint(role, hours) {
      settle()
      return mintRackToken(processes[0]!.key, {
        role,
        expiresAt: Math.floor(clock.now() / 1000) + hours * 3600
      })
    },
    handle(request) {
      settle()
      const process = processes[Math.floor(clock.random() * processes.length)]!
      const refuse = (body: string): FakeAnswer => ({
        status: 401,
        headers: { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Basic realm="convox"' },
        body
      })
      let role: string
      if (request.user === 'jwt') {
        const verdict = verifyRackToken(process.key, request.password ?? '', clock.now())
        if ('reason' in verdict) return refuse(`invalid authentication: ${verdict.reason}\n`)
        role = verdict.claims.role
      } else if (request.password === options.password) {
        role = legacy ? 'rw' : 'rwa'
      } else {
        return refuse('invalid authentication\n')
      }
      const { method, path } = request
      if (!(method === 'GET' && path === '/auth')) {
        const needs = method === 'GET' ? 'r' : 'w'
        if (!role.includes(needs)) return text(401, 'you are unauthorized to access this\n')
      }
      if (method === 'GET' && path === '/auth') return text(200, 'ok\n')
      if (method === 'GET' && path === '/system') return json(200, systemBody(model))
      if (method === 'PUT' && path === '/system') {
        return text(
          501,
          "direct rack doesn't support update, make sure you are not using RACK_URL environment variable\n"
        )
      }
      if (method === 'POST' && path === '/system/jwt/token') {
        return mintAnswer(new URLSearchParams(request.body), role, process.key)
      }
      if (method === 'PUT' && path === '/system/jwt/rotate') {
        if (!legacy && role !== 'rwa') return json(403, { error: 'admin role required' })
        rotate()
        return text(200, 'ok\n')
      }
      return text(404, 'not found\n')
    }
  }
  return model
}

function compareVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

function text(status: number, body: string): FakeAnswer {
  return { status, headers: { 'Content-Type': 'text/plain' }, body }
}

function json(status: number, value: unknown): FakeAnswer {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) }
}

export interface FakeV3Server {
  host: string
  caCert: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

export interface FakeV3Rack extends FakeV3Server {
  model: V3RackModel
}

async function serve(
  answer: (request: FakeRequest, rack?: string) => FakeAnswer,
  holdMs: (request: FakeRequest) => number = () => 0
): Promise<FakeV3Server> {
  const tls = testTls()
  const requests: RecordedRequest[] = []
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const { user, password } = basicCredentials(req)
      const rack = header(req, 'rack')
      const record: RecordedRequest = {
        time: Date.now(),
        method: req.method ?? '',
        path: (req.url ?? '/').split('?')[0]!,
        rack,
        user,
        password,
        userAgent: header(req, 'user-agent'),
        actor: header(req, 'x-convox-actor'),
        body,
        status: 0
      }
      requests.push(record)
      const request = { method: record.method, path: record.path, user, password, body }
      const reply = () => {
        // Gone while held: the request never reached the rack (status stays 0).
        if (res.destroyed || req.socket.destroyed) return
        record.status = send(res, answer(request, rack))
      }
      const hold = holdMs(request)
      if (hold > 0) setTimeout(reply, hold)
      else reply()
    })
  })
  const { port, close } = await listenOnLoopback(server)
  return { host: `127.0.0.1:${port}`, caCert: tls.caCert, requests, close }
}

/** The rack over loopback HTTPS, in real time. */
export async function startFakeV3Rack(
  options: V3RackOptions,
  clock: V3Clock = { now: Date.now, random: Math.random }
): Promise<FakeV3Rack> {
  const model = createV3RackModel(options, clock)
  const server = await serve(
    request => model.handle(request),
    request =>
      request.method === 'PUT' && request.path === '/system/jwt/rotate' ? (options.holdRotateMs ?? 0) : 0
  )
  model.rackDomain = options.rackDomain ?? server.host
  return { ...server, model }
}

export interface ConsoleFrontOptions {
  /** The Console user's CLI token. */
  token: string
  userId?: string
  org: string
  rackName: string
}

/**
 * A Console in front of a v3 rack: `GET /auth` and `GET /racks` for its user, and every other
 * request with `Rack: <org>/<rack>` proxied to the rack with the rack password, as Console holds it.
 */
export function startFakeV3Console(rack: FakeV3Rack, password: string, options: ConsoleFrontOptions) {
  return serve((request, rackHeader) => {
    if (request.password !== options.token) return text(401, 'invalid authentication\n')
    if (request.method === 'GET' && request.path === '/auth')
      return json(200, { id: options.userId ?? 'user-1' })
    if (request.method === 'GET' && request.path === '/racks') {
      return json(200, [
        {
          name: options.rackName,
          organization: { name: options.org },
          status: 'running',
          provider: 'gcp',
          version: '3.24.9'
        }
      ])
    }
    if (rackHeader !== `${options.org}/${options.rackName}`) {
      return json(404, { error: `could not find rack: ${rackHeader ?? ''}` })
    }
    return rack.model.handle({ ...request, user: 'convox', password })
  })
}

/** What revoke.ts asks of a ConvoxApi, answered by a model in memory on `clock` (virtual-clock tests, benches). */
export interface SimulatedV3Api {
  readonly host: string
  send(request: { method: string; path: string; form?: Record<string, string> }): Promise<{
    status: number
    headers: Record<string, string>
    body: string
  }>
  withCredential(password: string, user: string): SimulatedV3Api
  withPassword(password: string): SimulatedV3Api
  close(): void
}

export function simulateV3Api(
  model: V3RackModel,
  clock: { sleep: (ms: number) => Promise<void>; now: () => number },
  password: string,
  options: { user?: string; latencyMs?: number; requests?: RecordedRequest[] } = {}
): SimulatedV3Api {
  const user = options.user ?? 'convox'
  const requests = options.requests ?? []
  return {
    host: 'simulated-v3-rack',
    withCredential: (p, u) => simulateV3Api(model, clock, p, { ...options, user: u, requests }),
    withPassword: p => simulateV3Api(model, clock, p, { ...options, requests }),
    close: () => undefined,
    async send(request) {
      const record = await simulatedArrival(
        requests,
        clock,
        request,
        { user, password },
        options.latencyMs ?? 20
      )
      const answer = model.handle({
        method: request.method,
        path: request.path,
        user,
        password,
        body: record.body
      })
      record.status = answer.status
      return { status: answer.status, headers: lowerCase(answer.headers), body: answer.body }
    }
  }
}
