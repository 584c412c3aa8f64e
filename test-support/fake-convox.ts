import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { testTls } from './tls.ts'

/**
 * A loopback HTTPS server that answers like Convox (../shared/convox-facts.md, section 3 and 4):
 * a Rack API, or a Console that lists racks and proxies `Rack:` requests to them. Faults (5xx,
 * 429, resets, hangs) can be queued, and a Rack's keyroll runs through a window of phases in real
 * time, as a CloudFormation update does.
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

export interface FakeConvoxOptions {
  kind: 'rack' | 'console' | 'not-convox'
  /** kind rack: the rack itself. */
  rack?: Partial<FakeRack>
  /** kind console. */
  users?: ConsoleUser[]
  deployKeys?: string[]
  racks?: Array<Partial<FakeRack> & { name: string; org: string }>
  /** kind rack: the phases a keyroll goes through before the new key alone works. */
  keyrollWindow?: WindowPhase[]
  /** kind rack: the old key keeps working after the window (racks that read SSM at start). */
  keepOldKey?: boolean
}

export type Fault =
  | { status: number; body?: string; retryAfter?: string }
  | { reset: true }
  | { hang: true }

export interface RecordedRequest {
  time: number
  method: string
  path: string
  rack?: string
  password?: string
  userAgent?: string
  body: string
  status: number
}

export interface FakeConvox {
  host: string
  port: number
  caCert: string
  requests: RecordedRequest[]
  /** The rack (kind rack) or the Console racks by `org/name`. */
  rack: FakeRack
  consoleRacks: Map<string, FakeRack>
  /** Makes the next `times` requests matching `path` (all paths when omitted) fail this way. */
  fail(fault: Fault, options?: { path?: string; times?: number }): void
  /** Keyroll bookkeeping: when the PUT arrived and when the new key alone started to work. */
  keyroll: { putAt?: number; liveAt?: number; oldPassword?: string; newPassword?: string; puts: number }
  close(): Promise<void>
}

const RACK_DEFAULTS: FakeRack = {
  name: 'production',
  password: 'rack-password',
  version: '20240101000000',
  status: 'running',
  provider: 'aws',
  region: 'us-east-1'
}

export async function startFakeConvox(options: FakeConvoxOptions): Promise<FakeConvox> {
  const tls = testTls()
  const rack: FakeRack = { ...RACK_DEFAULTS, ...options.rack }
  const consoleRacks = new Map<string, FakeRack>()
  for (const r of options.racks ?? []) consoleRacks.set(`${r.org}/${r.name}`, { ...RACK_DEFAULTS, ...r })
  const requests: RecordedRequest[] = []
  const faults: Array<{ fault: Fault; path?: string; times: number }> = []
  const keyroll: FakeConvox['keyroll'] = { puts: 0 }
  const sockets = new Set<Duplex>()
  let windowTimer: NodeJS.Timeout | undefined

  function takeFault(path: string): Fault | undefined {
    const index = faults.findIndex(f => f.times > 0 && (!f.path || f.path === path))
    if (index < 0) return undefined
    const entry = faults[index]!
    entry.times--
    return entry.fault
  }

  /** The rack's mode now: the window phase we are in, or the steady state. */
  function rackMode(): WindowMode | 'steady' {
    if (keyroll.putAt === undefined || keyroll.liveAt === undefined) return 'steady'
    let t = Date.now() - keyroll.putAt
    for (const phase of options.keyrollWindow ?? []) {
      if (t < phase.ms) return phase.mode
      t -= phase.ms
    }
    return 'steady'
  }

  function rackAccepts(password: string | undefined, mode: WindowMode | 'steady'): boolean {
    if (password === undefined) return false
    const oldOk = password === keyroll.oldPassword
    const newOk = password === rack.password
    switch (mode) {
      case 'steady':
        return newOk || (oldOk && !!options.keepOldKey)
      case 'old':
        return oldOk
      case 'new':
        return newOk
      case 'both':
        return oldOk || newOk
      case 'flap':
        return Math.random() < 0.5 ? oldOk : newOk
      default:
        return false
    }
  }

  function systemBody(r: FakeRack): string {
    return JSON.stringify({
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
    })
  }

  /** A Rack API: `/auth`, `/system` and the keyroll `PUT /system`. */
  function handleRack(r: FakeRack, req: IncomingMessage, body: string, authenticated: boolean, res: ServerResponse): number {
    const path = (req.url ?? '/').split('?')[0]
    if (!authenticated) {
      const headers: Record<string, string> = { 'Content-Type': 'text/plain' }
      if (r.version.startsWith('3.')) headers['WWW-Authenticate'] = 'Basic realm="convox"'
      return send(res, 401, 'invalid authentication\n', headers)
    }
    if (req.method === 'GET' && path === '/auth') return send(res, 200, 'ok\n', { 'Content-Type': 'text/plain' })
    if (req.method === 'GET' && path === '/system') return send(res, 200, systemBody(r), { 'Content-Type': 'application/json' })
    if (req.method === 'PUT' && path === '/system') {
      if (r.version.startsWith('3.')) return send(res, 500, 'not implemented\n', { 'Content-Type': 'text/plain' })
      const params = new URLSearchParams(new URLSearchParams(body).get('parameters') ?? '')
      const next = params.get('Password')
      if (next === null) return send(res, 200, 'ok\n')
      if (next.length < 1 || next.length > 50) {
        return json(res, 400, { error: 'Parameter Password failed to satisfy constraint: must be 1 to 50 characters' })
      }
      if (r.status !== 'running') {
        return json(res, 400, { error: `Stack ${r.name} is in UPDATE_IN_PROGRESS state and can not be updated.` })
      }
      keyroll.puts++
      keyroll.oldPassword = r.password
      keyroll.newPassword = next
      keyroll.putAt = Date.now()
      r.password = next
      r.status = 'updating'
      const windowMs = (options.keyrollWindow ?? []).reduce((sum, p) => sum + p.ms, 0)
      keyroll.liveAt = keyroll.putAt + windowMs
      windowTimer = setTimeout(() => {
        r.status = 'running'
      }, windowMs)
      return send(res, 200, 'ok\n')
    }
    return send(res, 404, 'not found\n', { 'Content-Type': 'text/plain' })
  }

  function handleConsole(req: IncomingMessage, body: string, password: string | undefined, res: ServerResponse): number {
    const path = (req.url ?? '/').split('?')[0]
    const user = options.users?.find(u => u.token === password)
    const deployKey = password !== undefined && (options.deployKeys ?? []).includes(password)
    if (user?.mfa) {
      return send(res, 401, 'session required\n', { 'WWW-Authenticate': 'Session path="/session" token="abc"' })
    }
    if (user?.expired) return json(res, 401, { error: 'cli token is expired, please log in again' })
    if (req.method === 'GET' && path === '/auth') {
      if (user) return json(res, 200, { id: user.id })
      return send(res, 401, 'invalid authentication\n', { 'Content-Type': 'text/plain' })
    }
    if (!user && !deployKey) return send(res, 401, 'invalid authentication\n', { 'Content-Type': 'text/plain' })
    if (req.method === 'GET' && path === '/racks') {
      return json(
        res,
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
    if (!rackName) return json(res, 404, { error: 'no rack specified' })
    const target = consoleRacks.get(rackName)
    if (!target) return json(res, 404, { error: `could not find rack: ${rackName}` })
    return handleRack(target, req, body, true, res)
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const path = (req.url ?? '/').split('?')[0]!
      const password = basicPassword(req)
      const record: RecordedRequest = {
        time: Date.now(),
        method: req.method ?? '',
        path,
        rack: header(req, 'rack'),
        password,
        userAgent: header(req, 'user-agent'),
        body,
        status: 0
      }
      requests.push(record)
      const fault = takeFault(path)
      if (fault && 'reset' in fault) return void req.socket.destroy()
      if (fault && 'hang' in fault) return
      if (fault) {
        const headers: Record<string, string> = {}
        if (fault.retryAfter !== undefined) headers['Retry-After'] = fault.retryAfter
        record.status = send(res, fault.status, fault.body ?? `${fault.status} fault\n`, headers)
        return
      }
      if (options.kind === 'not-convox') {
        record.status = send(res, 404, '<html><body>404 Not Found</body></html>', { 'Content-Type': 'text/html' })
        return
      }
      if (options.kind === 'console') {
        record.status = handleConsole(req, body, password, res)
        return
      }
      const mode = rackMode()
      if (mode === 'reset') return void req.socket.destroy()
      if (mode === '502' || mode === '503') {
        record.status = send(res, Number(mode), `<html><body>${mode} Bad Gateway</body></html>`, { 'Content-Type': 'text/html' })
        return
      }
      record.status = handleRack(rack, req, body, rackAccepts(password, mode), res)
    })
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  return {
    host: `127.0.0.1:${port}`,
    port,
    caCert: tls.caCert,
    requests,
    rack,
    consoleRacks,
    keyroll,
    fail(fault, opts = {}) {
      faults.push({ fault, path: opts.path, times: opts.times ?? 1 })
    },
    close() {
      clearTimeout(windowTimer)
      for (const socket of sockets) socket.destroy()
      return new Promise(resolve => server.close(() => resolve()))
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function basicPassword(req: IncomingMessage): string | undefined {
  const match = /^Basic (.+)$/.exec(header(req, 'authorization') ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : decoded.slice(colon + 1)
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): number {
  res.writeHead(status, headers)
  res.end(body)
  return status
}

function json(res: ServerResponse, status: number, value: unknown): number {
  return send(res, status, JSON.stringify(value), { 'Content-Type': 'application/json' })
}
