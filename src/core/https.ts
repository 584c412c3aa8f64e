import type { TLSSocket } from 'node:tls'
import { connect } from 'node:tls'
import { parseAnswer } from './http-answer.ts'
import type { HttpsAnswer } from './http-answer.ts'

export type { HttpsAnswer } from './http-answer.ts'

/**
 * The one place that speaks HTTPS, for the Convox API, the GitHub API and the CLI's release
 * lookups alike: HTTP/1.1 written straight onto a node:tls socket, with one idle connection kept
 * per host for the next request.
 *
 * Not node:https, on purpose: it loads Node's whole HTTP stack (agent, client, server, parser:
 * nine modules), about 5 ms of a 70 ms start for the few small requests a login sends
 * (docs/performance.md). Certificate checks are node:tls's own, unchanged. Like node:https with a
 * custom agent, it does not go through an HTTPS_PROXY.
 */

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
  if (['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(code)) return make('reset', true)
  if (code === 'ETIMEDOUT') return make('timeout', true)
  if (TLS_CODES.test(code)) return make('tls', false)
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'].includes(code)) return make('other', true)
  return make('other', false)
}

/** Where a request goes: `hostname` without IPv6 brackets. */
export interface HttpsTarget {
  hostname: string
  port: number
  /** Path and query, starting with `/`. */
  path: string
}

export interface HttpsRequestOptions {
  method?: string
  headers: Record<string, string>
  body?: string
  /** For the whole exchange, not per socket event: a trickling answer cannot outlast it. */
  timeoutMs: number
}

export interface HttpsClientOptions {
  /** CA certificates trusted instead of Node's bundled roots; none means those roots. */
  ca?: string | string[]
  /** `false` skips certificate verification (`insecure: true`). */
  verify?: boolean
}

/** An https: URL as a target; anything else is a programming error, not an input error. */
export function httpsTarget(url: string | URL): HttpsTarget {
  const parsed = new URL(url)
  if (parsed.protocol !== 'https:') throw new Error(`not an https URL: ${parsed.origin}`)
  return {
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : 443,
    path: `${parsed.pathname}${parsed.search}`
  }
}

// A header value or path with a line break would let a caller's input write headers of its own.
const UNSAFE = /[\r\n\0]/

export class HttpsClient {
  private readonly options: HttpsClientOptions
  /** One idle, verified connection per host:port, for the next request there, and its listener. */
  private readonly idle = new Map<string, { socket: TLSSocket; drop: () => void }>()

  constructor(options: HttpsClientOptions = {}) {
    this.options = options
  }

  request(target: HttpsTarget, options: HttpsRequestOptions): Promise<HttpsAnswer> {
    const { method = 'GET', body, timeoutMs } = options
    const head = requestHead(target, method, options.headers, body)
    const key = `${target.hostname}:${target.port}`
    return new Promise((resolve, reject) => {
      const socket = this.takeIdle(key) ?? this.connect(target)
      const chunks: Buffer[] = []
      let settled = false
      const settle = (error: Error | undefined, answer?: HttpsAnswer, reusable = false) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        socket.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
        if (error) {
          socket.destroy()
          reject(error instanceof NetworkError ? error : classifyNetworkError(error))
          return
        }
        if (reusable) this.park(key, socket)
        else socket.destroy()
        resolve(answer!)
      }
      // Parsing the whole buffer on every chunk is quadratic in theory; Convox and GitHub answers
      // are a few KiB, so in practice it is one or two parses per answer.
      const tryParse = (ended: boolean) => {
        let parsed
        try {
          parsed = parseAnswer(Buffer.concat(chunks), method, ended)
        } catch (error) {
          settle(error as Error)
          return
        }
        if (parsed) settle(undefined, parsed.answer, parsed.reusable && !ended)
        else if (ended) settle(closedEarly())
      }
      const onData = (chunk: Buffer) => {
        chunks.push(chunk)
        tryParse(false)
      }
      const onEnd = () => tryParse(true)
      const onError = (error: Error) => settle(error)
      const onClose = () => settle(closedEarly())
      socket.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
      const timer = setTimeout(() => {
        settle(
          Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), { code: 'ETIMEDOUT' })
        )
      }, timeoutMs)
      // Written before the handshake ends, node:tls sends it as soon as the connection is verified.
      socket.write(body === undefined ? head : head + body)
    })
  }

  /** Closes idle connections so the process can exit at once. */
  close(): void {
    for (const { socket } of this.idle.values()) socket.destroy()
    this.idle.clear()
  }

  private connect(target: HttpsTarget): TLSSocket {
    const { hostname, port } = target
    return connect({
      host: hostname,
      port,
      // SNI takes a name, never an address; the certificate is checked against either.
      servername: isAddress(hostname) ? undefined : hostname,
      ca: this.options.ca,
      rejectUnauthorized: this.options.verify !== false
    })
  }

  private park(key: string, socket: TLSSocket): void {
    this.idle.get(key)?.socket.destroy()
    // An idle connection the server closes (or resets) simply leaves the pool; it must not keep
    // the process alive either.
    const drop = () => {
      if (this.idle.get(key)?.socket === socket) this.idle.delete(key)
      socket.destroy()
    }
    socket.on('error', drop).on('close', drop).on('end', drop).on('data', drop)
    socket.unref()
    this.idle.set(key, { socket, drop })
  }

  private takeIdle(key: string): TLSSocket | undefined {
    const parked = this.idle.get(key)
    if (!parked) return undefined
    this.idle.delete(key)
    const { socket, drop } = parked
    socket.off('error', drop).off('close', drop).off('end', drop).off('data', drop)
    socket.ref()
    return socket
  }
}

function isAddress(hostname: string): boolean {
  return /^[\d.]+$/.test(hostname) || hostname.includes(':')
}

function requestHead(
  target: HttpsTarget,
  method: string,
  headers: Record<string, string>,
  body: string | undefined
): string {
  const fields = Object.entries(headers)
  if (!/^\/\S*$/.test(target.path) || fields.some(([name, value]) => UNSAFE.test(name + value))) {
    throw new Error('a request path or header contains a space or line break')
  }
  const host = target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname
  const lines = [
    `${method} ${target.path} HTTP/1.1`,
    `Host: ${target.port === 443 ? host : `${host}:${target.port}`}`,
    ...fields.map(([name, value]) => `${name}: ${value}`)
  ]
  if (body !== undefined || method === 'POST' || method === 'PUT' || method === 'PATCH') {
    lines.push(`Content-Length: ${Buffer.byteLength(body ?? '')}`)
  }
  return `${lines.join('\r\n')}\r\n\r\n`
}

function closedEarly(): NodeJS.ErrnoException {
  return Object.assign(new Error('the connection closed before the answer was complete'), {
    code: 'ECONNRESET'
  })
}
