import type { IncomingMessage } from 'node:http'
import { Agent, request } from 'node:https'
import { ConvoxError } from '../errors.ts'
import type { Proxy, ProxyEnv } from './proxy.ts'
import { proxyFromEnv, proxyProblem, usesProxy } from './proxy.ts'

/**
 * The one place that speaks HTTPS, for the Convox API, the GitHub API and the CLI's release
 * lookups alike: node:https with one keep-alive agent per client, which also goes through
 * HTTPS_PROXY when the caller passes the proxy variables (docs/http.md). What node:https leaves
 * open is bounded here: the whole exchange has one deadline, the body a size.
 */

export type NetworkErrorKind =
  | 'dns'
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'tls'
  /** The port answered TLS with plain HTTP: no certificate setting helps. */
  | 'plain-http'
  /** The proxy refused, was unreachable, or would not open the tunnel. */
  | 'proxy'
  | 'other'

/** A request that got no HTTP answer. `transient` says whether trying again can help. */
export class NetworkError extends Error {
  override name = 'NetworkError'
  readonly kind: NetworkErrorKind
  readonly transient: boolean
  readonly code: string
  /** The proxy the request went through (`scheme://host:port`, never its credentials). */
  readonly proxy?: string

  constructor(kind: NetworkErrorKind, transient: boolean, code: string, message: string, proxy?: string) {
    super(message)
    this.kind = kind
    this.transient = transient
    this.code = code
    if (proxy) this.proxy = proxy
  }
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH)/
/** Failures of the connection to the proxy itself: through a proxy, Node connects to nothing else. */
const CONNECT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']

/**
 * What a Node error means for the caller. `proxy` is the proxy the request went through: a
 * failure to reach it, or its refusal to open the tunnel, is told as the proxy's, with our own
 * words, since Node's message for a proxy URL it cannot use repeats the URL and its password.
 */
export function classifyNetworkError(
  error: NodeJS.ErrnoException & { statusCode?: number },
  proxy?: Proxy
): NetworkError {
  const code = error.code ?? ''
  const via = proxy?.name
  const make = (kind: NetworkErrorKind, transient: boolean, message = error.message) =>
    new NetworkError(kind, transient, code, message, via)
  if (proxy && (code === 'ERR_PROXY_TUNNEL' || CONNECT_CODES.includes(code))) {
    return proxyFailure(error, proxy)
  }
  if (code === 'ENOTFOUND') return make('dns', false)
  if (code === 'EAI_AGAIN') return make('dns', true)
  if (code === 'ECONNREFUSED') return make('refused', true)
  if (['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(code)) return make('reset', true)
  if (code === 'ETIMEDOUT') return make('timeout', true)
  // OpenSSL's reading of "HTTP/1.1 400" where a TLS record should be: EPROTO when connecting
  // directly, ERR_SSL_WRONG_VERSION_NUMBER through a tunnel.
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    (code === 'EPROTO' && /wrong version number/.test(error.message))
  ) {
    return make('plain-http', false, 'the port speaks plain HTTP, not HTTPS')
  }
  if (TLS_CODES.test(code)) return make('tls', false)
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'].includes(code)) return make('other', true)
  // llhttp's codes: what came back is not HTTP/1.1, and will not be on the next try either.
  if (code.startsWith('HPE_'))
    return make('other', false, `the answer is not valid HTTP/1.1 (${error.message})`)
  return make('other', false)
}

function proxyFailure(error: NodeJS.ErrnoException & { statusCode?: number }, proxy: Proxy): NetworkError {
  const { name } = proxy
  const code = error.code ?? ''
  const status = error.statusCode
  const fail = (transient: boolean, message: string) =>
    new NetworkError('proxy', transient, code, message, name)
  if (status === 407) {
    return fail(
      false,
      proxy.hasCredentials
        ? `the proxy ${name} refused the user and password in ${proxy.variable} (HTTP 407)`
        : `the proxy ${name} asks for a user and password (HTTP 407): put them in ${proxy.variable} as http://user:password@host:port`
    )
  }
  if (status !== undefined) {
    return fail(status >= 500 || status === 429, `the proxy ${name} would not open a tunnel (HTTP ${status})`)
  }
  if (code === 'ECONNREFUSED') return fail(true, `the proxy ${name} refused the connection`)
  if (code === 'ENOTFOUND') return fail(false, `the proxy ${name} has a host name that does not resolve`)
  if (code === 'ERR_PROXY_TUNNEL' && /timed out/.test(error.message)) {
    return fail(true, `the proxy ${name} did not open a tunnel in time`)
  }
  if (code === 'ERR_PROXY_TUNNEL')
    return fail(true, `the proxy ${name} closed the connection before opening a tunnel`)
  return fail(true, `the proxy ${name} cannot be reached (${code})`)
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

export interface HttpsAnswer {
  status: number
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>
  body: string
}

export interface HttpsClientOptions {
  /** CA certificates trusted instead of Node's bundled roots; none means those roots. */
  ca?: string | string[]
  /** `false` skips certificate verification (`insecure: true`). */
  verify?: boolean
  /**
   * The proxy variables (`HTTPS_PROXY`, `NO_PROXY` and their lower-case forms), as the adapter
   * reads them from the environment; none means direct connections.
   */
  proxyEnv?: ProxyEnv
  /** `process.versions.node` unless a test says otherwise: whether Node can use the proxy. */
  nodeVersion?: string
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
// node:https refuses them too, but with a TypeError once the request is under way.
const UNSAFE = /[\r\n\0]/
const MAX_HEADER_BYTES = 64 * 1024
const MAX_BODY_BYTES = 16 * 1024 * 1024
const CUT_SHORT = 'the connection closed before the answer was complete'

export class HttpsClient {
  private readonly agent: Agent
  private readonly proxyEnv: ProxyEnv
  private readonly proxy: Proxy | undefined
  private readonly nodeVersion: string

  /** Throws a ConvoxError when the proxy variables name no proxy Node can use. */
  constructor(options: HttpsClientOptions = {}) {
    this.proxyEnv = options.proxyEnv ?? {}
    this.proxy = proxyFromEnv(this.proxyEnv)
    this.nodeVersion = options.nodeVersion ?? process.versions.node
    // Idle sockets are unreferenced by the agent, so a pooled connection never holds the process.
    this.agent = new Agent({
      keepAlive: true,
      ca: options.ca,
      rejectUnauthorized: options.verify !== false,
      proxyEnv: this.proxy ? this.proxyEnv : undefined
    })
  }

  request(target: HttpsTarget, options: HttpsRequestOptions): Promise<HttpsAnswer> {
    const { method = 'GET', headers, body, timeoutMs } = options
    if (!/^\/\S*$/.test(target.path) || Object.entries(headers).some(([n, v]) => UNSAFE.test(n + v))) {
      throw new Error('a request path or header contains a space or line break')
    }
    const problem = proxyProblem(this.nodeVersion, this.proxyEnv, target.hostname, target.port)
    if (problem) return Promise.reject(new ConvoxError(problem))
    const proxy = this.proxy && usesProxy(this.proxy, target.hostname, target.port) ? this.proxy : undefined
    return new Promise((resolve, reject) => {
      const req = request({
        host: target.hostname,
        port: target.port,
        path: target.path,
        method,
        headers,
        agent: this.agent,
        maxHeaderSize: MAX_HEADER_BYTES,
        // An idle limit for the proxy's tunnel and the socket; the deadline below is the real one.
        timeout: timeoutMs
      })
      let settled = false
      const fail = (error: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        req.destroy()
        reject(error instanceof NetworkError ? error : classifyNetworkError(error, proxy))
      }
      const timer = setTimeout(() => {
        const seconds = Math.round(timeoutMs / 1000)
        fail(new NetworkError('timeout', true, 'ETIMEDOUT', `no answer within ${seconds}s`, proxy?.name))
      }, timeoutMs)
      req.on('error', fail)
      req.on('response', (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length'])
        if (declared > MAX_BODY_BYTES) return fail(tooLarge(proxy))
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_BODY_BYTES) fail(tooLarge(proxy))
          else chunks.push(chunk)
        })
        // Node's "aborted": the connection closed before the body was complete.
        res.on('error', () => fail(new NetworkError('reset', true, 'ECONNRESET', CUT_SHORT, proxy?.name)))
        res.on('end', () => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resolve({
            status: res.statusCode!,
            headers: joinHeaders(res),
            body: Buffer.concat(chunks).toString('utf8')
          })
        })
      })
      // Node sends Content-Length for the body, and 0 for a POST or PUT without one, as Go
      // servers (Convox) expect.
      req.end(body)
    })
  }

  /** Closes pooled connections so the process can exit at once. */
  close(): void {
    this.agent.destroy()
  }
}

function joinHeaders(res: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, values] of Object.entries(res.headersDistinct)) headers[name] = values!.join(', ')
  return headers
}

function tooLarge(proxy: Proxy | undefined): NetworkError {
  return new NetworkError('other', false, '', 'the answer is larger than 16 MiB', proxy?.name)
}
