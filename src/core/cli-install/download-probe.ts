import { connect } from 'node:net'
import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import { ConvoxError } from '../errors.ts'
import type { NetworkError } from '../http/https.ts'
import { classifyNetworkError, httpsTarget } from '../http/https.ts'
import type { ProxyEnv } from '../http/proxy.ts'
import { proxyFromEnv, usesProxy } from '../http/proxy.ts'
import { DEFAULT_BACKOFF, fullJitterDelay } from '../http/retry.ts'

/**
 * Whether the CLI's download host can be reached at all, asked before tool-cache downloads
 * (docs/http.md, "The CLI download"). tool-cache retries every network error 3 times, 10 to 20 s
 * apart, so a host that does not resolve or a port nobody listens on costs 20 to 40 s before it
 * says anything; looking the host up and opening one connection says it in a few seconds. No
 * HTTP is sent: an answer, a 404 included, is tool-cache's to get (it does not retry a 404), and
 * anything less certain than "no such host" or "refused" (a timeout, a reset) is left to its
 * retries. Through a proxy the proxy resolves and connects, so there is nothing to ask here.
 */

/**
 * How long a refused connection or a resolver without an answer (EAI_AGAIN) is tried again: a
 * mirror restarting or a resolver's hiccup gets a moment, a wrong host does not get half a minute.
 */
export const PROBE_BUDGET_MS = 3_000
const CONNECT_TIMEOUT_MS = 2_000

/** Why no download from that host can succeed now; undefined when the download may. */
export interface Unreachable {
  error: NetworkError
  spentMs: number
}

export async function probeDownloadHost(
  url: string,
  options: { proxyEnv?: ProxyEnv; clock: Clock }
): Promise<Unreachable | undefined> {
  const { clock } = options
  const { hostname, port } = httpsTarget(url)
  if (viaProxy(options.proxyEnv ?? {}, hostname, port)) return undefined
  const start = clock.now()
  for (let attempt = 0; ; attempt++) {
    const failure = await tryConnect(hostname, port)
    if (!failure || (failure.kind !== 'dns' && failure.kind !== 'refused')) return undefined
    const delay = fullJitterDelay(attempt, DEFAULT_BACKOFF, clock.random())
    if (!failure.transient || clock.now() + delay - start > PROBE_BUDGET_MS) {
      return { error: failure, spentMs: clock.now() - start }
    }
    await clock.sleep(delay)
  }
}

/** `the host name does not resolve, still after 3.1s`: why the probe gave up, for a sentence. */
export function unreachableCause({ error, spentMs }: Unreachable): string {
  const cause = error.kind === 'dns' ? 'the host name does not resolve' : 'it refuses connections'
  return error.transient ? `${cause}, still after ${formatDuration(spentMs)}` : cause
}

function viaProxy(proxyEnv: ProxyEnv, hostname: string, port: number): boolean {
  try {
    const proxy = proxyFromEnv(proxyEnv)
    return proxy !== undefined && usesProxy(proxy, hostname, port)
  } catch (error) {
    // Proxy variables Node cannot use: tool-cache reads them its own way, so the download decides.
    if (error instanceof ConvoxError) return true
    throw error
  }
}

/** One TCP connection, closed as soon as it is open; the failure, classified, or undefined. */
function tryConnect(host: string, port: number): Promise<NetworkError | undefined> {
  return new Promise(resolve => {
    const socket = connect({ host, port })
    const done = (failure?: NetworkError) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(failure)
    }
    // Slow is not unreachable: the download's own timeouts and retries judge it.
    const timer = setTimeout(() => done(), CONNECT_TIMEOUT_MS)
    socket.once('connect', () => done())
    socket.once('error', error => done(classifyNetworkError(error)))
  })
}
