import { afterEach, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import http from 'node:http'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import tls from 'node:tls'
import { ConvoxError } from '../../../src/core/errors.ts'
import type { HttpsClientOptions, HttpsTarget } from '../../../src/core/http/https.ts'
import { HttpsClient, httpsTarget, NetworkError } from '../../../src/core/http/https.ts'
import type { FakeProxyOptions } from '../../../test-support/proxy.ts'
import { startFakeProxy } from '../../../test-support/proxy.ts'
import { closedPort, listenOnLoopback, testTls } from '../../../test-support/tls.ts'

/**
 * The HTTPS client against real loopback TLS servers: node:https for what a well-behaved server
 * does (its parser also checks what we send), a raw node:tls server for what a broken or slow one
 * does, and a loopback CONNECT proxy (test-support/proxy.ts) in front of them.
 */

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  while (stops.length) await stops.pop()!()
})

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
  connection: number
}

async function httpsServer(handle: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void) {
  const { cert, key } = testTls()
  const seen: Seen[] = []
  let connections = 0
  const server = https.createServer({ cert, key }, (req, res) => {
    let body = ''
    req.on('data', chunk => (body += chunk))
    req.on('end', () => {
      const entry = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body,
        connection: connection(req)
      }
      seen.push(entry)
      handle(req, res, entry)
    })
  })
  const ids = new WeakMap<object, number>()
  const connection = (req: IncomingMessage) => ids.get(req.socket)!
  server.on('secureConnection', socket => ids.set(socket, ++connections))
  const { port, close } = await listenOnLoopback(server)
  stops.push(close)
  return { seen, target: (path: string): HttpsTarget => ({ hostname: '127.0.0.1', port, path }) }
}

/** A TLS server that writes whatever the test says, byte by byte if asked. */
async function rawServer(answer: (socket: tls.TLSSocket, request: string) => void) {
  const { cert, key } = testTls()
  const server = tls.createServer({ cert, key }, socket => {
    let request = ''
    socket.on('data', chunk => {
      request += chunk
      if (request.includes('\r\n\r\n')) answer(socket, request)
    })
    socket.on('error', () => undefined)
  })
  const { port, close } = await listenOnLoopback(server as unknown as https.Server)
  stops.push(close)
  return { hostname: '127.0.0.1', port, path: '/auth' }
}

async function proxy(options: FakeProxyOptions = {}) {
  const started = await startFakeProxy(options)
  stops.push(() => started.stop())
  return started
}

const trusting = (options: HttpsClientOptions = {}) => new HttpsClient({ ca: testTls().caCert, ...options })
const get = (client: HttpsClient, target: HttpsTarget, timeoutMs = 5000) =>
  client.request(target, { headers: { Authorization: 'Basic abc' }, timeoutMs })

async function failure(promise: Promise<unknown>): Promise<NetworkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(NetworkError)
  return error as NetworkError
}

/** Runs a module in a child Node, asynchronously: the servers answering it live in this process. */
function runChild(script: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise(resolve =>
    execFile(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', script],
      { env: { ...process.env, ...env, NODE_OPTIONS: '' }, timeout: 10_000 },
      (_error, stdout, stderr) => resolve({ stdout, stderr })
    )
  )
}

const CLIENT_MODULE = JSON.stringify(new URL('../../../src/core/http/https.ts', import.meta.url).href)

describe('HttpsClient against a well-behaved server', () => {
  it('sends the method, path, Host, headers and body, and returns status, headers and body', async () => {
    const server = await httpsServer((_req, res) => {
      res.setHeader('X-RateLimit-Remaining', '41')
      res.end('{"ok":true}')
    })
    const client = trusting()
    const answer = await client.request(server.target('/apps/web/releases?limit=1'), {
      method: 'POST',
      headers: { Authorization: 'Basic abc', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=é&x=1',
      timeoutMs: 5000
    })
    client.close()
    expect(answer).toMatchObject({
      status: 200,
      body: '{"ok":true}',
      headers: { 'x-ratelimit-remaining': '41' }
    })
    const [request] = server.seen
    expect(request).toMatchObject({ method: 'POST', url: '/apps/web/releases?limit=1', body: 'name=é&x=1' })
    expect(request!.headers).toMatchObject({
      host: `127.0.0.1:${server.target('/').port}`,
      authorization: 'Basic abc',
      'content-length': String(Buffer.byteLength('name=é&x=1'))
    })
  })

  it('sends Content-Length: 0 with a POST that has no body, as Go servers expect', async () => {
    const server = await httpsServer((_req, res) => res.end())
    const client = trusting()
    await client.request(server.target('/system/keyroll'), { method: 'POST', headers: {}, timeoutMs: 5000 })
    client.close()
    expect(server.seen[0]!.headers['content-length']).toBe('0')
  })

  it('joins the values of a repeated header with ", ", whatever the header', async () => {
    const target = await rawServer(socket =>
      socket.end(
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\nX-Accepted: a\r\n' +
          'x-accepted: b\r\nContent-Length: 2\r\n\r\nok'
      )
    )
    const client = trusting()
    const { headers } = await get(client, target)
    client.close()
    expect(headers).toMatchObject({ 'content-type': 'text/plain, text/html', 'x-accepted': 'a, b' })
  })

  it('carries the next request on the same connection, and opens a new one after Connection: close', async () => {
    let close = false
    const server = await httpsServer((_req, res) => {
      if (close) res.setHeader('Connection', 'close')
      res.end('ok')
    })
    const client = trusting()
    await get(client, server.target('/auth'))
    await get(client, server.target('/system'))
    close = true
    await get(client, server.target('/racks'))
    close = false
    await get(client, server.target('/racks'))
    client.close()
    expect(server.seen.map(s => s.connection)).toEqual([1, 1, 1, 2])
  })

  it('connects again when the server has closed the idle connection', async () => {
    const server = await httpsServer((req, res) => {
      res.end('ok', () => req.socket.end())
    })
    const client = trusting()
    await get(client, server.target('/auth'))
    await new Promise(resolve => setTimeout(resolve, 100))
    expect((await get(client, server.target('/system'))).body).toBe('ok')
    client.close()
    expect(server.seen.map(s => s.connection)).toEqual([1, 2])
  })

  it('takes https URLs, with IPv6 literals and default ports, and nothing else', () => {
    expect(httpsTarget('https://api.github.com/repos/o/r?per_page=1')).toEqual({
      hostname: 'api.github.com',
      port: 443,
      path: '/repos/o/r?per_page=1'
    })
    expect(httpsTarget('https://[::1]:5443/auth')).toEqual({ hostname: '::1', port: 5443, path: '/auth' })
    expect(() => httpsTarget('http://rack.example.com/auth')).toThrow(/not an https URL/)
  })

  it('refuses a header or path that would smuggle a line break, before connecting', async () => {
    const client = new HttpsClient()
    const target = { hostname: '127.0.0.1', port: await closedPort(), path: '/auth' }
    expect(() =>
      client.request(target, { headers: { Rack: 'org/rack\r\nX-Evil: 1' }, timeoutMs: 1000 })
    ).toThrow(/contains a space or line break/)
    expect(() =>
      client.request({ ...target, path: '/auth HTTP/1.1\r\n' }, { headers: {}, timeoutMs: 1000 })
    ).toThrow(/contains a space or line break/)
  })

  it('lets the process exit with an idle connection open', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const started = Date.now()
    const child = await runChild(
      `import { HttpsClient } from ${CLIENT_MODULE}
      const client = new HttpsClient({ ca: process.env.CA })
      const answer = await client.request({ hostname: '127.0.0.1', port: ${server.target('/').port}, path: '/auth' }, { headers: {}, timeoutMs: 5000 })
      console.log(answer.status)`,
      { CA: testTls().caCert }
    )
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('200')
    expect(Date.now() - started).toBeLessThan(4000) // node:https's server would keep it 5 s otherwise
  })
})

describe('HttpsClient against broken, slow and untrusted servers', () => {
  it('reads an answer that arrives a byte at a time', async () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'
    const target = await rawServer(socket => {
      let i = 0
      const next = () => (i < text.length ? socket.write(text[i++]!, next) : undefined)
      next()
    })
    const client = trusting()
    expect((await get(client, target)).body).toBe('ok')
    client.close()
  })

  it('reads an answer framed by the end of the connection', async () => {
    const target = await rawServer(socket => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'))
    const client = trusting()
    expect((await get(client, target)).body).toBe('until the end')
    client.close()
  })

  it('reports a connection closed in the middle of the answer as a transient reset', async () => {
    const target = await rawServer(socket =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort')
    )
    const error = await failure(get(trusting(), target))
    expect(error).toMatchObject({ kind: 'reset', transient: true, code: 'ECONNRESET' })
    expect(error.message).toBe('the connection closed before the answer was complete')
  })

  it('reports an answer that is not HTTP as such, not worth retrying', async () => {
    const target = await rawServer(socket => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'))
    const error = await failure(get(trusting(), target))
    expect(error).toMatchObject({ kind: 'other', transient: false })
    expect(error.message).toMatch(/^the answer is not valid HTTP\/1.1 \(Parse Error/)
  })

  it('takes headers up to 64 KiB, and refuses larger ones', async () => {
    const withHeader = (bytes: number) =>
      rawServer(socket =>
        socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(bytes)}\r\nContent-Length: 2\r\n\r\nok`)
      )
    const client = trusting()
    expect((await get(client, await withHeader(40 * 1024))).body).toBe('ok')
    const error = await failure(get(client, await withHeader(70 * 1024)))
    client.close()
    expect(error).toMatchObject({ kind: 'other', transient: false, code: 'HPE_HEADER_OVERFLOW' })
  })

  it('refuses a body larger than 16 MiB, announced or streamed', async () => {
    const announced = await rawServer(socket =>
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${16 * 1024 * 1024 + 1}\r\n\r\nstart`)
    )
    const streamed = await rawServer(socket => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
      const chunk = Buffer.alloc(1024 * 1024, 'a')
      const frame = Buffer.concat([
        Buffer.from(`${chunk.length.toString(16)}\r\n`),
        chunk,
        Buffer.from('\r\n')
      ])
      let sent = 0
      const next = () => {
        if (sent++ < 17 && !socket.destroyed) socket.write(frame, next)
      }
      next()
    })
    const client = trusting()
    for (const target of [announced, streamed]) {
      const error = await failure(get(client, target))
      expect(error).toMatchObject({
        kind: 'other',
        transient: false,
        message: 'the answer is larger than 16 MiB'
      })
    }
    client.close()
  })

  it('gives up on an answer that does not complete in time, however it trickles', async () => {
    const target = await rawServer(socket => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')
      const timer = setInterval(() => socket.write('x'), 100)
      socket.on('close', () => clearInterval(timer))
    })
    const started = Date.now()
    const error = await failure(get(trusting(), target, 500))
    expect(error).toMatchObject({ kind: 'timeout', transient: true, message: 'no answer within 1s' })
    expect(Date.now() - started).toBeLessThan(900)
  })

  it('classifies a refused connection as transient', async () => {
    const target = { hostname: '127.0.0.1', port: await closedPort(), path: '/auth' }
    expect(await failure(get(trusting(), target))).toMatchObject({ kind: 'refused', transient: true })
  })

  it('tells a port that answers plain HTTP from a certificate problem', async () => {
    const server = http.createServer((_req, res) => res.end('plain'))
    const { port, close } = await listenOnLoopback(server as unknown as https.Server)
    stops.push(close)
    const error = await failure(get(trusting(), { hostname: '127.0.0.1', port, path: '/auth' }))
    expect(error).toMatchObject({
      kind: 'plain-http',
      transient: false,
      message: 'the port speaks plain HTTP, not HTTPS'
    })
  })

  it('refuses a certificate it cannot verify, and accepts it when verification is off', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const error = await failure(get(new HttpsClient(), server.target('/auth')))
    expect(error).toMatchObject({ kind: 'tls', transient: false })
    expect(error.code).toMatch(/^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO)/)
    const insecure = new HttpsClient({ verify: false })
    expect((await get(insecure, server.target('/auth'))).body).toBe('ok')
    insecure.close()
  })

  it('checks the certificate against the address it connects to', async () => {
    // Linux routes all of 127/8 to loopback; the test certificate names 127.0.0.1, not 127.0.0.2.
    const { cert, key } = testTls()
    const server = https.createServer({ cert, key }, (_req, res) => res.end('ok'))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.2', resolve))
    stops.push(() => new Promise(resolve => server.close(() => resolve())))
    const { port } = server.address() as import('node:net').AddressInfo
    const error = await failure(get(trusting(), { hostname: '127.0.0.2', port, path: '/auth' }))
    expect(error).toMatchObject({ kind: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })
})

describe('HttpsClient through a proxy', () => {
  const PASSWORD = 'Pr0xy-P@ss:w0rd'
  const auth = { user: 'ci-runner', password: PASSWORD }
  /** Every form the proxy's password could leak in. */
  const forms = [
    PASSWORD,
    encodeURIComponent(PASSWORD),
    Buffer.from(`${auth.user}:${PASSWORD}`).toString('base64')
  ]
  const leaks = (text: string) => forms.filter(form => text.includes(form))

  it('tunnels every request, keeps the tunnel for the next one, and verifies the server through it', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const through = await proxy({ auth })
    const target = server.target('/auth')
    const client = trusting({ proxyEnv: { HTTPS_PROXY: through.url } })
    expect((await get(client, target)).body).toBe('ok')
    expect((await get(client, target)).body).toBe('ok')
    client.close()
    expect(through.connects).toEqual([{ target: `127.0.0.1:${target.port}`, status: 200 }])
    expect(server.seen.map(s => s.connection)).toEqual([1, 1])

    // The server's certificate, not the proxy's, is what the client checks, with its own CA.
    const untrusting = new HttpsClient({ proxyEnv: { HTTPS_PROXY: through.url } })
    const error = await failure(get(untrusting, target))
    expect(error).toMatchObject({ kind: 'tls', transient: false, proxy: through.name })
    expect(through.tunnelsTo(`127.0.0.1:${target.port}`)).toBe(2)
  })

  it('goes direct to a host NO_PROXY names, and through the proxy to any other', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const through = await proxy()
    const target = server.target('/auth')
    for (const noProxy of ['127.0.0.1', `127.0.0.1:${target.port}`, '*', 'example.com, 127.0.0.1']) {
      const client = trusting({ proxyEnv: { HTTPS_PROXY: through.url, NO_PROXY: noProxy } })
      expect((await get(client, target)).body).toBe('ok')
      client.close()
    }
    expect(through.connects).toEqual([])
    const client = trusting({ proxyEnv: { https_proxy: through.url, NO_PROXY: '127.0.0.1:1,localhost' } })
    await get(client, target)
    client.close()
    expect(through.tunnelsTo(`127.0.0.1:${target.port}`)).toBe(1)
  })

  it('names the proxy, never its password, when it refuses or cannot be reached', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const target = server.target('/auth')
    const attempt = async (proxyUrl: string) => {
      const client = trusting({ proxyEnv: { HTTPS_PROXY: proxyUrl } })
      const error = await failure(get(client, target))
      client.close()
      expect(leaks(`${error.message} ${error.code} ${error.proxy}`)).toEqual([])
      return error
    }
    const wantsAuth = await proxy({ auth })
    const wrong = wantsAuth.url.replace(encodeURIComponent(PASSWORD), 'wrong')
    expect(await attempt(wrong)).toMatchObject({
      kind: 'proxy',
      transient: false,
      proxy: wantsAuth.name,
      message: `the proxy ${wantsAuth.name} refused the user and password in HTTPS_PROXY (HTTP 407)`
    })
    expect(await attempt(wantsAuth.name)).toMatchObject({
      kind: 'proxy',
      transient: false,
      message: expect.stringMatching(/asks for a user and password \(HTTP 407\): put them in HTTPS_PROXY/)
    })

    const badGateway = await proxy({ auth, refuseWith: 502 })
    expect(await attempt(badGateway.url)).toMatchObject({
      kind: 'proxy',
      transient: true,
      code: 'ERR_PROXY_TUNNEL',
      message: `the proxy ${badGateway.name} would not open a tunnel (HTTP 502)`
    })

    const dead = await proxy({ auth })
    await dead.stop()
    expect(await attempt(dead.url)).toMatchObject({
      kind: 'proxy',
      transient: true,
      code: 'ECONNREFUSED',
      message: `the proxy ${dead.name} refused the connection`
    })

    // A proxy that accepts the connection and closes it without a word.
    const closing = (await import('node:net')).createServer(socket => socket.destroy())
    const { port, close } = await listenOnLoopback(closing as unknown as https.Server)
    stops.push(close)
    expect(
      await attempt(`http://${auth.user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`)
    ).toMatchObject({
      kind: 'proxy',
      transient: true,
      message: `the proxy http://127.0.0.1:${port} closed the connection before opening a tunnel`
    })
  })

  it('refuses proxy variables Node would ignore or choke on, without repeating them', () => {
    for (const value of [
      `socks5://${auth.user}:${PASSWORD}@127.0.0.1:1080`,
      `127.0.0.1:3128`,
      `http://${auth.user}:${PASSWORD}@[bad`
    ]) {
      let error: unknown
      try {
        new HttpsClient({ proxyEnv: { HTTPS_PROXY: value } })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConvoxError)
      expect((error as Error).message).toMatch(
        /^HTTPS_PROXY (does not start with http:\/\/ or https:\/\/|is not a valid URL)/
      )
      expect(leaks((error as Error).message)).toEqual([])
    }
  })

  it('on a Node without proxyEnv, refuses to connect directly to a host the proxy is for', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const target = server.target('/auth')
    const through = await proxy()
    const old = trusting({
      proxyEnv: { HTTPS_PROXY: through.url, NO_PROXY: 'localhost' },
      nodeVersion: '24.1.0'
    })
    await expect(get(old, target)).rejects.toThrow(
      new ConvoxError(
        "This runner's Node v24.1.0 cannot use HTTPS_PROXY (https.Agent proxyEnv needs Node 24.5.0 or later): " +
          'update the runner, or add 127.0.0.1 to NO_PROXY to connect to it directly.'
      )
    )
    expect(server.seen).toEqual([])
    const bypassing = trusting({
      proxyEnv: { HTTPS_PROXY: through.url, NO_PROXY: '127.0.0.1' },
      nodeVersion: '24.1.0'
    })
    expect((await get(bypassing, target)).body).toBe('ok')
    bypassing.close()
    expect(through.connects).toEqual([])
  })

  it('lets the process exit with an idle tunnelled connection open', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'))
    const through = await proxy({ auth })
    const started = Date.now()
    const child = await runChild(
      `import { HttpsClient } from ${CLIENT_MODULE}
      const client = new HttpsClient({ ca: process.env.CA, proxyEnv: { HTTPS_PROXY: process.env.PROXY } })
      const answer = await client.request({ hostname: '127.0.0.1', port: ${server.target('/').port}, path: '/auth' }, { headers: {}, timeoutMs: 5000 })
      console.log(answer.status)`,
      { CA: testTls().caCert, PROXY: through.url }
    )
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('200')
    expect(Date.now() - started).toBeLessThan(4000)
    expect(through.tunnelsTo(`127.0.0.1:${server.target('/').port}`)).toBe(1)
  })
})
