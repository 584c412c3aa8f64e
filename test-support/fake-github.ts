import https from 'node:https'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import sodium from 'libsodium-wrappers'
import { listenOnLoopback, testTls } from './tls.ts'

/**
 * A loopback HTTPS server that answers like the GitHub REST API for Actions secrets of one
 * repository and its environments. Each scope has its own key pair, as on GitHub, and every
 * sealed value is opened on arrival, so tests read the plaintext a real repository would hold.
 */

export interface FakeGitHubOptions {
  /** `owner/repo`; default `acme/app`. */
  repository?: string
  /** Tokens that may read and write secrets. */
  tokens?: string[]
  /** Tokens GitHub knows that lack the Secrets permission, as a GITHUB_TOKEN. */
  readOnlyTokens?: string[]
  environments?: string[]
  /** API root path, as GitHub Enterprise Server's `/api/v3`. */
  prefix?: string
}

/** `repository`, or `environment:<name>`. */
export type FakeGitHubScope = string

export interface FakeGitHubOp {
  time: number
  op: 'put' | 'delete' | 'public-key'
  scope: FakeGitHubScope
  /** The secret; absent for `public-key`. */
  name?: string
}

export interface FakeGitHubRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  status: number
  /** The client's port of the connection it came on (a proxy's, through one). */
  clientPort: number
}

export type FakeGitHubFault =
  { status: number; retryAfter?: string; body?: string; headers?: Record<string, string> } | { reset: true }

export interface FakeGitHub {
  /** The API root, `https://127.0.0.1:PORT` plus the prefix. */
  apiUrl: string
  caCert: string
  /** Operations that took effect, in order. */
  ops: FakeGitHubOp[]
  /** Every request, answered or faulted. */
  requests: FakeGitHubRequest[]
  /** Plaintext secrets of the repository, or of an environment. */
  secrets(environment?: string): Map<string, string>
  /** Makes the next `times` requests (of `method`, when given) fail this way. */
  fail(fault: FakeGitHubFault, options?: { times?: number; method?: string }): void
  /** Connections a client still holds open (keep-alive): 0 once it closed its client. */
  openConnections(): number
  close(): Promise<void>
}

interface ScopeState {
  keyId: string
  publicKey: Uint8Array
  privateKey: Uint8Array
  secrets: Map<string, string>
}

const SECRET_NAME = /^(?!GITHUB_)[A-Za-z_][A-Za-z0-9_]*$/i

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  await sodium.ready
  const tls = testTls()
  const repository = options.repository ?? 'acme/app'
  const prefix = options.prefix ?? ''
  const environments = new Set(options.environments ?? [])
  const scopes = new Map<FakeGitHubScope, ScopeState>()
  const ops: FakeGitHubOp[] = []
  const requests: FakeGitHubRequest[] = []
  const faults: Array<{ fault: FakeGitHubFault; times: number; method?: string }> = []

  function scopeState(scope: FakeGitHubScope): ScopeState {
    let state = scopes.get(scope)
    if (!state) {
      const { publicKey, privateKey } = sodium.crypto_box_keypair()
      state = { keyId: String(Math.floor(Math.random() * 1e18)), publicKey, privateKey, secrets: new Map() }
      scopes.set(scope, state)
    }
    return state
  }

  function takeFault(method: string): FakeGitHubFault | undefined {
    const entry = faults.find(f => f.times > 0 && (!f.method || f.method === method))
    if (!entry) return undefined
    entry.times--
    return entry.fault
  }

  /** Routes an authenticated request; paths are those of the REST API, below the prefix. */
  function handle(method: string, path: string, body: string, token: string, res: ServerResponse): number {
    if (!options.tokens?.includes(token) && !options.readOnlyTokens?.includes(token)) {
      return json(res, 401, { message: 'Bad credentials' })
    }
    const match = /^\/repos\/([^/]+\/[^/]+)\/(?:actions|environments\/([^/]+))\/secrets\/([^/]+)$/.exec(path)
    const environment = match?.[2] === undefined ? undefined : decodeURIComponent(match[2])
    if (!match || match[1] !== repository || (environment !== undefined && !environments.has(environment))) {
      return json(res, 404, { message: 'Not Found' })
    }
    if (!options.tokens?.includes(token)) {
      return json(res, 403, { message: 'Resource not accessible by personal access token' })
    }
    const scope = environment === undefined ? 'repository' : `environment:${environment}`
    const state = scopeState(scope)
    const name = match[3]!
    const time = Date.now()
    if (name === 'public-key' && method === 'GET') {
      ops.push({ time, op: 'public-key', scope })
      return json(res, 200, {
        key_id: state.keyId,
        key: sodium.to_base64(state.publicKey, sodium.base64_variants.ORIGINAL)
      })
    }
    if (method === 'PUT') {
      if (!SECRET_NAME.test(name))
        return json(res, 422, { message: 'Invalid request.\n\nInvalid secret name.' })
      const request = parseBody(body)
      if (request?.key_id !== state.keyId)
        return json(res, 422, { message: 'Bad request: key_id does not match.' })
      let plaintext: string
      try {
        const sealed = sodium.from_base64(request.encrypted_value, sodium.base64_variants.ORIGINAL)
        plaintext = sodium.to_string(sodium.crypto_box_seal_open(sealed, state.publicKey, state.privateKey))
      } catch {
        return json(res, 422, { message: 'Bad request: encrypted_value could not be decrypted.' })
      }
      const existed = state.secrets.has(name)
      state.secrets.set(name, plaintext)
      ops.push({ time, op: 'put', scope, name })
      return existed ? send(res, 204, '') : json(res, 201, {})
    }
    if (method === 'DELETE') {
      if (!state.secrets.delete(name)) return json(res, 404, { message: 'Not Found' })
      ops.push({ time, op: 'delete', scope, name })
      return send(res, 204, '')
    }
    return json(res, 404, { message: 'Not Found' })
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const method = req.method ?? ''
      const url = (req.url ?? '/').split('?')[0]!
      const record: FakeGitHubRequest = {
        method,
        path: url,
        headers: req.headers,
        status: 0,
        clientPort: req.socket.remotePort!
      }
      requests.push(record)
      const fault = takeFault(method)
      if (fault && 'reset' in fault) return void req.socket.destroy()
      if (fault) {
        const headers: Record<string, string> = { 'Content-Type': 'application/json', ...fault.headers }
        if (fault.retryAfter !== undefined) headers['Retry-After'] = fault.retryAfter
        record.status = send(
          res,
          fault.status,
          fault.body ?? JSON.stringify({ message: 'Server Error' }),
          headers
        )
        return
      }
      if (!req.headers['user-agent']) {
        // What GitHub really answers to a request without a User-Agent.
        record.status = send(
          res,
          403,
          'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.'
        )
        return
      }
      if (!url.startsWith(`${prefix}/`)) {
        record.status = json(res, 404, { message: 'Not Found' })
        return
      }
      const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? ''
      const body = Buffer.concat(chunks).toString('utf8')
      record.status = handle(method, url.slice(prefix.length), body, token, res)
    })
  })
  const { port, close, openConnections } = await listenOnLoopback(server)

  return {
    apiUrl: `https://127.0.0.1:${port}${prefix}`,
    caCert: tls.caCert,
    ops,
    requests,
    secrets: environment =>
      scopeState(environment === undefined ? 'repository' : `environment:${environment}`).secrets,
    fail(fault, opts = {}) {
      faults.push({ fault, times: opts.times ?? 1, method: opts.method })
    },
    openConnections,
    close() {
      return close()
    }
  }
}

function parseBody(body: string): { encrypted_value: string; key_id: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { encrypted_value?: unknown; key_id?: unknown }
    if (typeof parsed.encrypted_value === 'string' && typeof parsed.key_id === 'string') {
      return { encrypted_value: parsed.encrypted_value, key_id: parsed.key_id }
    }
  } catch {
    // Not JSON: GitHub answers 422 like any other invalid body.
  }
  return undefined
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {}
): number {
  res.writeHead(status, headers)
  res.end(body)
  return status
}

function json(res: ServerResponse, status: number, value: unknown): number {
  return send(res, status, JSON.stringify(value), { 'Content-Type': 'application/json' })
}
