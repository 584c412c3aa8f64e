import https from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'

/** How to trust the host's certificate. The real CLI trusts anything; we verify unless told not to. */
export interface TlsOptions {
  /** PEM of the CA that signed this host's certificate (self-signed racks): trusted instead of the system roots. */
  caCert?: string
  insecure: boolean
}

export interface ApiRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE'
  path: string
  /** Sent as the `Rack:` header: Console proxies the request to that rack. */
  rack?: string
  /** Sent as an application/x-www-form-urlencoded body, as the CLI does. */
  form?: Record<string, string>
  timeoutMs?: number
}

export interface ApiResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export type NetworkErrorKind = 'dns' | 'refused' | 'reset' | 'timeout' | 'tls' | 'other'

/** A request that got no HTTP answer. `transient` says whether trying again can help. */
export class NetworkError extends Error {
  override name = 'NetworkError'
  readonly kind: NetworkErrorKind
  readonly transient: boolean
  readonly code: string

  constructor(kind: NetworkErrorKind, transient: boolean, code: string, message: string) {
    super(message)
    this.kind = kind
    this.transient = transient
    this.code = code
  }
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH)/

export function classifyNetworkError(error: NodeJS.ErrnoException): NetworkError {
  const code = error.code ?? ''
  const make = (kind: NetworkErrorKind, transient: boolean) =>
    new NetworkError(kind, transient, code, error.message)
  if (code === 'ENOTFOUND') return make('dns', false)
  if (code === 'EAI_AGAIN') return make('dns', true)
  if (code === 'ECONNREFUSED') return make('refused', true)
  if (
    ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET'].includes(code) ||
    /socket hang up/.test(error.message)
  )
    return make('reset', true)
  if (code === 'ETIMEDOUT') return make('timeout', true)
  if (TLS_CODES.test(code)) return make('tls', false)
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'].includes(code)) return make('other', true)
  return make('other', false)
}

const DEFAULT_TIMEOUT_MS = 15_000
const USER_AGENT = 'convox-login'

/**
 * The Convox HTTP API as the CLI speaks it: HTTPS, Basic authentication with user `convox`.
 * One method, one attempt: retrying is decided in retry.ts, meaning in the callers.
 */
export class ConvoxApi {
  readonly host: string
  private readonly authorization: string
  private readonly agent: https.Agent

  constructor(host: string, password: string, agent: https.Agent) {
    this.host = host
    this.agent = agent
    this.authorization = `Basic ${Buffer.from(`convox:${password}`).toString('base64')}`
  }

  static create(host: string, password: string, tlsOptions: TlsOptions): ConvoxApi {
    // A ca-cert is the CA of this one host, so it replaces the system roots rather than joining
    // them: narrower trust, and no parsing of ~150 root certificates at start-up.
    const agent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: !tlsOptions.insecure,
      ca: tlsOptions.caCert || undefined
    })
    return new ConvoxApi(host, password, agent)
  }

  /** The same host and connection pool, authenticated with another key (keyroll). */
  withPassword(password: string): ConvoxApi {
    return new ConvoxApi(this.host, password, this.agent)
  }

  /** Closes pooled connections so the process can exit at once. */
  close(): void {
    this.agent.destroy()
  }

  send(request: ApiRequest): Promise<ApiResponse> {
    const body = request.form ? new URLSearchParams(request.form).toString() : undefined
    const headers: Record<string, string> = {
      Authorization: this.authorization,
      'User-Agent': USER_AGENT,
      Accept: 'application/json, text/plain'
    }
    if (request.rack) headers.Rack = request.rack
    if (body !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded'
      headers['Content-Length'] = String(Buffer.byteLength(body))
    }
    const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: hostname(this.host),
          port: port(this.host),
          path: request.path,
          method: request.method,
          headers,
          agent: this.agent
        },
        res => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            clearTimeout(timer)
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8')
            })
          })
          res.on('error', error => req.destroy(error))
        }
      )
      const timer = setTimeout(() => {
        req.destroy(
          Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), { code: 'ETIMEDOUT' })
        )
      }, timeoutMs)
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(classifyNetworkError(error))
      })
      req.end(body)
    })
  }
}

function hostname(host: string): string {
  const bracketed = /^\[(.*)\](?::\d+)?$/.exec(host)
  if (bracketed) return bracketed[1]!
  return host.replace(/:\d+$/, '')
}

function port(host: string): number {
  const match = /:(\d+)$/.exec(host)
  return match && !/^\[[^\]]*$/.test(host) ? Number(match[1]) : 443
}
