import { afterEach, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import tls from 'node:tls'
import type { HttpsTarget } from '../src/core/https.ts'
import { HttpsClient, httpsTarget, NetworkError } from '../src/core/https.ts'
import { closedPort, listenOnLoopback, testTls } from '../test-support/tls.ts'

/**
 * The HTTPS client against real loopback TLS servers: node:https for what a well-behaved server
 * does (its parser also checks what we send), and a raw node:tls server for what a broken or
 * slow one does.
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

const trusting = () => new HttpsClient({ ca: testTls().caCert })
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
    const script = `
      import { HttpsClient } from ${JSON.stringify(new URL('../src/core/https.ts', import.meta.url).href)}
      const client = new HttpsClient({ ca: process.env.CA })
      const answer = await client.request({ hostname: '127.0.0.1', port: ${server.target('/').port}, path: '/auth' }, { headers: {}, timeoutMs: 5000 })
      console.log(answer.status)`
    const started = Date.now()
    // Asynchronously: the server answering it lives in this process.
    const child = await new Promise<{ stdout: string; stderr: string }>(resolve =>
      execFile(
        process.execPath,
        ['--no-warnings', '--input-type=module', '-e', script],
        { env: { ...process.env, CA: testTls().caCert, NODE_OPTIONS: '' }, timeout: 10_000 },
        (_error, stdout, stderr) => resolve({ stdout, stderr })
      )
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
    expect(error.message).toMatch(/not valid HTTP\/1.1: it starts with "SSH-2.0-OpenSSH_9.6"/)
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
