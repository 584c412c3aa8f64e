import type { Agent, RequestOptions } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'

/**
 * One HTTPS request and its whole answer, or a classified NetworkError: the one place that speaks
 * node:https, for the Convox API, the GitHub API and the CLI's release lookups alike.
 */

export interface HttpsAnswer {
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

/**
 * node:https, loaded on first use rather than at start: with node:tls and node:crypto it is most of
 * what the post step, which sends nothing, would otherwise spend (docs/performance.md).
 */
export function nodeHttps(): typeof import('node:https') {
  return process.getBuiltinModule('node:https')
}

export interface HttpsRequestOptions {
  method?: string
  headers: Record<string, string>
  body?: string
  agent?: Agent
  /** For the whole exchange, not per socket event: a trickling answer cannot outlast it. */
  timeoutMs: number
}

export function httpsRequest(
  target: string | URL | RequestOptions,
  options: HttpsRequestOptions
): Promise<HttpsAnswer> {
  const { method = 'GET', body, agent, timeoutMs } = options
  const headers = { ...options.headers }
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage) => {
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
    const req =
      typeof target === 'string' || target instanceof URL
        ? nodeHttps().request(target, { method, headers, agent }, onResponse)
        : nodeHttps().request({ ...target, method, headers, agent }, onResponse)
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
