import { ConvoxError } from '../errors.ts'

/**
 * Which proxy an HTTPS request goes through, decided from the proxy variables as Node's
 * https.Agent decides it (`proxyEnv`, Node 24.5 and later): `https_proxy` before `HTTPS_PROXY`,
 * `no_proxy` before `NO_PROXY`, and the NO_PROXY forms Node documents. Node does the proxying;
 * this module is what lets the client name the proxy in a failure, and refuse to connect
 * directly on a Node that would silently ignore the variables.
 */

/** The variables an HTTPS client reads; the process environment as the adapter passes it. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>

export interface Proxy {
  /** The variable it came from, as set: `https_proxy` or `HTTPS_PROXY`. */
  variable: string
  /** `scheme://host:port`: never the user or password, so it can go into any message. */
  name: string
  hasCredentials: boolean
  /** The NO_PROXY list (lower case, trimmed), empty when none is set. */
  bypass: string[]
}

/** Node 24.5.0 added `proxyEnv` to http.Agent and https.Agent (nodejs/node#58980). */
export const PROXY_ENV_MIN_NODE = '24.5.0'

/**
 * The proxy the variables name, or undefined when none is set. A value Node could not use
 * (not a URL, or not http:// or https://, which Node would ignore and connect directly) is
 * refused with a sentence that does not repeat it, since it may hold a password.
 */
export function proxyFromEnv(env: ProxyEnv): Proxy | undefined {
  const variable = env.https_proxy ? 'https_proxy' : env.HTTPS_PROXY ? 'HTTPS_PROXY' : undefined
  if (!variable) return undefined
  const url = env[variable]!
  const fix = `set it to the proxy's URL, such as http://proxy.example.com:3128 (with user:password@ before the host if the proxy needs them)`
  // Node ignores a value of another scheme and connects directly: refused here instead.
  if (!url.startsWith('http://') && !url.startsWith('https://')) {
    throw new ConvoxError(`${variable} does not start with http:// or https://: ${fix}.`)
  }
  const parsed = URL.parse(url)
  if (!parsed?.hostname || /[\r\n]/.test(url))
    throw new ConvoxError(`${variable} is not a valid URL: ${fix}.`)
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80')
  const noProxy = env.no_proxy || env.NO_PROXY
  return {
    variable,
    name: `${parsed.protocol}//${parsed.hostname}:${port}`,
    hasCredentials: parsed.username !== '' || parsed.password !== '',
    bypass: noProxy ? noProxy.split(',').map(entry => entry.trim().toLowerCase()) : []
  }
}

/** Whether a request to `hostname` (no IPv6 brackets) and `port` goes through `proxy`. */
export function usesProxy(proxy: Proxy, hostname: string, port: number): boolean {
  const host = hostname.toLowerCase()
  const hostWithPort = `${host}:${port}`
  return !proxy.bypass.some(
    entry =>
      entry === '*' ||
      entry === host ||
      entry === hostWithPort ||
      // `.example.com` is the domain and what is under it, as curl reads it.
      (entry.startsWith('.') && (host === entry.slice(1) || host.endsWith(entry))) ||
      (entry.startsWith('*.') && host.endsWith(entry.slice(1))) ||
      inRange(entry, host)
  )
}

/** An IPv4 range `a.b.c.d-e.f.g.h`, both ends included. */
function inRange(entry: string, host: string): boolean {
  if (!entry.includes('-')) return false
  const [start, end] = entry.split('-').map(part => part.trim())
  if (!start || !end) return false
  const [from, to, address] = [start, end, host].map(ipv4Number)
  return from !== undefined && to !== undefined && address !== undefined && address >= from && address <= to
}

function ipv4Number(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every(part => /^\d{1,3}$/.test(part) && Number(part) <= 255))
    return undefined
  return parts.reduce((value, part) => value * 256 + Number(part), 0)
}

/** Whether https.Agent of this Node version takes `proxyEnv`; older ones ignore it and connect directly. */
export function nodeHasProxyEnv(nodeVersion: string): boolean {
  const [major = 0, minor = 0] = nodeVersion.replace(/^v/, '').split('.').map(Number)
  const [minMajor, minMinor] = PROXY_ENV_MIN_NODE.split('.').map(Number) as [number, number]
  return major > minMajor || (major === minMajor && minor >= minMinor)
}

/**
 * Why a request to `hostname:port` cannot go as the variables say on this Node, or undefined
 * when it can: a proxy applies to it and Node would ignore it. Never a silent direct connection.
 */
export function proxyProblem(
  nodeVersion: string,
  env: ProxyEnv,
  hostname: string,
  port: number
): string | undefined {
  const proxy = proxyFromEnv(env)
  if (!proxy || !usesProxy(proxy, hostname, port) || nodeHasProxyEnv(nodeVersion)) return undefined
  const version = nodeVersion.startsWith('v') ? nodeVersion : `v${nodeVersion}`
  return (
    `This runner's Node ${version} cannot use ${proxy.variable} (https.Agent proxyEnv needs Node ${PROXY_ENV_MIN_NODE} or later): ` +
    `update the runner, or add ${hostname} to NO_PROXY to connect to it directly.`
  )
}
