import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import net from 'node:net'

/**
 * A loopback HTTPS proxy as corporate networks run them: plain HTTP on 127.0.0.1 that opens a
 * CONNECT tunnel to the host and port asked for and then only copies bytes, so TLS stays between
 * the client and the server. It can want Basic credentials (407 otherwise), answer every CONNECT
 * with a status of the test's choosing, and be stopped, after which its port refuses connections.
 */

export interface FakeProxyOptions {
  /** Basic credentials the proxy wants in Proxy-Authorization; none means it takes anyone. */
  auth?: { user: string; password: string }
  /** Answers every CONNECT with this status instead of opening the tunnel (502: the proxy cannot reach the host). */
  refuseWith?: number
}

export interface FakeConnect {
  /** `host:port` asked for. */
  target: string
  /** What the proxy answered: 200 when it opened the tunnel. */
  status: number
}

export interface FakeProxy {
  /** `http://127.0.0.1:PORT`, with `user:password@` when the proxy wants credentials. */
  url: string
  /** `http://127.0.0.1:PORT`: how a message may name the proxy. */
  name: string
  port: number
  /** Every CONNECT, in order. */
  connects: FakeConnect[]
  /** Tunnels opened to `target` (`host:port`). */
  tunnelsTo(target: string): number
  /**
   * Whether a connection the server saw came from this proxy: the client port a server records
   * for a request is the local port of one of the proxy's tunnels.
   */
  carried(clientPort: number): boolean
  /** Stops listening and cuts every connection: the proxy is dead from now on. */
  stop(): Promise<void>
}

export async function startFakeProxy(options: FakeProxyOptions = {}): Promise<FakeProxy> {
  const connects: FakeConnect[] = []
  const tunnelPorts = new Set<number>()
  const sockets = new Set<Socket>()
  const expected =
    options.auth && `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`

  const server = http.createServer((_req, res) => {
    // Only CONNECT is served: an HTTPS client never sends anything else to it.
    res.writeHead(405, { 'Content-Type': 'text/plain' }).end('CONNECT only\n')
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? ''
    const answer = (status: number, headers = '') => {
      connects.push({ target, status })
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${headers}Content-Length: 0\r\n\r\n`)
    }
    client.on('error', () => undefined)
    if (expected && req.headers['proxy-authorization'] !== expected) {
      return answer(407, 'Proxy-Authenticate: Basic realm="test proxy"\r\n')
    }
    if (options.refuseWith) return answer(options.refuseWith)
    const { hostname, port } = new URL(`http://${target}`)
    let opened = false
    const upstream = net.connect(Number(port), hostname.replace(/^\[(.*)\]$/, '$1'), () => {
      opened = true
      tunnelPorts.add(upstream.localPort!)
      connects.push({ target, status: 200 })
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client).pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.on('error', () => (opened ? client.destroy() : answer(502)))
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const name = `http://127.0.0.1:${port}`
  const credentials =
    options.auth && `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.password)}@`

  return {
    url: credentials ? `http://${credentials}127.0.0.1:${port}` : name,
    name,
    port,
    connects,
    tunnelsTo: target => connects.filter(c => c.target === target && c.status === 200).length,
    carried: clientPort => tunnelPorts.has(clientPort),
    stop() {
      for (const socket of sockets) socket.destroy()
      return new Promise(resolve => server.close(() => resolve()))
    }
  }
}
