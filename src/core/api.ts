import { actorHeader } from './actor.ts'
import type { BasicUser } from './credential.ts'
import type { HttpsAnswer } from './http/https.ts'
import type { HttpsTarget } from './http/https.ts'
import { HttpsClient, httpsTarget } from './http/https.ts'
import { REQUEST_TIMEOUT_MS, USER_AGENT } from './http/request-defaults.ts'
import type { ProxyEnv } from './http/proxy.ts'

export { classifyNetworkError, NetworkError } from './http/https.ts'
export type { NetworkErrorKind } from './http/https.ts'

/** How to reach the host and trust its certificate. The real CLI trusts anything; we verify unless told not to. */
export interface ConnectionOptions {
  /** PEM of the CA that signed this host's certificate (self-signed racks): trusted instead of the system roots. */
  caCert?: string
  insecure: boolean
  /** The proxy variables of the environment (HTTPS_PROXY, NO_PROXY); none means a direct connection. */
  proxyEnv?: ProxyEnv
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

export type ApiResponse = HttpsAnswer

/** Who the requests are from: the Basic user name of the key, and the audit actor. */
export interface ApiIdentity {
  /** `jwt` for a rack access token; `convox` when omitted. */
  user?: BasicUser
  /** Sent as `X-Convox-Actor`; none when empty. */
  actor?: string
}

/**
 * The Convox HTTP API as the CLI speaks it: HTTPS, Basic authentication with user `convox` (`jwt`
 * for a rack access token).
 * One method, one attempt: retrying is decided in retry.ts, meaning in the callers.
 */
export class ConvoxApi {
  readonly host: string
  private readonly authorization: string
  private readonly identity: ApiIdentity
  private readonly client: HttpsClient
  /** Where `host` (`name`, `name:port`, `[v6]:port`) connects. */
  private readonly origin: Omit<HttpsTarget, 'path'>

  constructor(host: string, password: string, client: HttpsClient, identity: ApiIdentity = {}) {
    this.host = host
    this.client = client
    this.identity = identity
    const { hostname, port } = httpsTarget(`https://${host}/`)
    this.origin = { hostname, port }
    this.authorization = `Basic ${Buffer.from(`${identity.user ?? 'convox'}:${password}`).toString('base64')}`
  }

  static create(
    host: string,
    password: string,
    connection: ConnectionOptions,
    identity: ApiIdentity = {}
  ): ConvoxApi {
    // A ca-cert is the CA of this one host, so it replaces the system roots rather than joining
    // them: narrower trust, through a proxy's tunnel as well.
    const client = new HttpsClient({
      verify: !connection.insecure,
      ca: connection.caCert || undefined,
      proxyEnv: connection.proxyEnv
    })
    return new ConvoxApi(host, password, client, identity)
  }

  /** The same host and connection pool, authenticated with another key (keyroll). */
  withPassword(password: string): ConvoxApi {
    return new ConvoxApi(this.host, password, this.client, this.identity)
  }

  /** The same host and connection pool, as another Basic user (a minted token, user `jwt`). */
  withCredential(password: string, user: BasicUser): ConvoxApi {
    return new ConvoxApi(this.host, password, this.client, { ...this.identity, user })
  }

  /** Closes pooled connections so the process can exit at once. */
  close(): void {
    this.client.close()
  }

  send(request: ApiRequest): Promise<ApiResponse> {
    const body = request.form ? new URLSearchParams(request.form).toString() : undefined
    const headers: Record<string, string> = {
      Authorization: this.authorization,
      'User-Agent': USER_AGENT,
      Accept: 'application/json, text/plain'
    }
    if (this.identity.actor) headers['X-Convox-Actor'] = actorHeader(this.identity.actor)
    if (request.rack) headers.Rack = request.rack
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded'
    return this.client.request(
      { ...this.origin, path: request.path },
      { method: request.method, headers, body, timeoutMs: request.timeoutMs ?? REQUEST_TIMEOUT_MS }
    )
  }
}
