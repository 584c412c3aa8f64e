import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { IncomingHttpHeaders } from 'node:http'
import https from 'node:https'
import { ConvoxError, InputError } from '../../../src/core/errors.ts'
import type { Log } from '../../../src/core/log.ts'
import { silentLog } from '../../../src/core/log.ts'
import type { RestClientOptions } from '../../../src/core/http/rest.ts'
import { answered, isSuccess, RestClient } from '../../../src/core/http/rest.ts'
import { closedPort, listenOnLoopback, testTls } from '../../../test-support/tls.ts'
import { virtualClock } from '../../../test-support/virtual-clock.ts'

/** The one REST client against a loopback HTTPS server that records what it is sent. */

const TOKEN = 'glpat-RestClientToken0123456789'

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

const seen: Seen[] = []
/** Statuses the next requests get, in order; 200 with `{"ok":true}` after them. */
const statuses: number[] = []
let server: { port: number; close: () => Promise<void>; openConnections: () => number }

beforeAll(async () => {
  const tls = testTls()
  const httpsServer = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = ''
    req.on('data', chunk => (body += chunk))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      const status = statuses.shift() ?? 200
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(status === 200 ? '{"ok":true}' : JSON.stringify({ message: `refused ${TOKEN}\n::warning::x` }))
    })
  })
  server = await listenOnLoopback(httpsServer)
})
afterAll(() => server.close())

function client(options: Partial<RestClientOptions> = {}, log: Log = silentLog): RestClient {
  return new RestClient({
    apiUrl: `https://127.0.0.1:${server.port}/api/v4`,
    name: 'GitLab',
    headers: { 'PRIVATE-TOKEN': TOKEN },
    secret: TOKEN,
    caCert: testTls().caCert,
    clock: virtualClock(1),
    log,
    retryForMs: 5000,
    ...options
  })
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise(resolve => setTimeout(resolve, 10))
}

describe('RestClient', () => {
  it('sends below the API root, with its headers and a JSON body, and masks the credential at once', async () => {
    const masked: string[] = []
    const rest = client({}, { ...silentLog, secret: value => masked.push(value) })
    expect(masked).toEqual([TOKEN])
    seen.length = 0
    const answer = await rest.request({
      what: 'x',
      method: 'PUT',
      path: '/projects/1/variables/A?b=c',
      body: { value: 'v' }
    })
    rest.close()
    expect(answer.status).toBe(200)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/api/v4/projects/1/variables/A?b=c',
      body: '{"value":"v"}'
    })
    expect(seen[0]!.headers).toMatchObject({
      'private-token': TOKEN,
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': 'convox-login'
    })
    expect(rest.url('projects').href).toBe(`https://127.0.0.1:${server.port}/api/v4/projects`)
  })

  it('retries a 503 within retryForMs, and hands over an error status as an answer', async () => {
    const lines: string[] = []
    const rest = client({}, { ...silentLog, info: line => lines.push(line) })
    statuses.push(503, 404)
    const answer = await rest.request({ what: 'x', path: 'projects/1' })
    rest.close()
    expect(answer.status).toBe(404)
    expect(lines).toEqual([
      expect.stringMatching(/^GET \/api\/v4\/projects\/1 on 127\.0\.0\.1:\d+: HTTP 503; retry 1 in/)
    ])
    expect(answered(rest, answer)).toBe('GitLab answered 404')
    expect(answered(rest, { ...answer, status: 502 })).toBe('GitLab answered 502 until the retries ran out')
    expect([isSuccess(204), isSuccess(301), isSuccess(199)]).toEqual([true, false, false])
  })

  it('quotes what the server said without the credential in any form, on one line', () => {
    const rest = client()
    const basic = Buffer.from(`convox:${TOKEN}`).toString('base64')
    expect(rest.said(`no ${TOKEN} or ${encodeURIComponent(TOKEN)} or Basic ${basic}\n::warning::x`)).toBe(
      'no *** or *** or ***'
    )
    rest.close()
  })

  it('says "no answer" once, naming the origin, how long it tried, and what to do instead', async () => {
    const port = await closedPort()
    const rest = client({ apiUrl: `https://127.0.0.1:${port}/api/v3`, name: 'GitHub', retryForMs: 2000 })
    const error = await rest
      .request({ what: 'ask for X', path: 'x', advice: 'pin it' })
      .catch((e: Error) => e)
    rest.close()
    expect(error).toBeInstanceOf(ConvoxError)
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Could not ask for X: no answer from https://127\\.0\\.0\\.1:${port} \\(connection refused, still after [\\d.]+s\\); pin it\\.$`
      )
    )
  })

  it('refuses an API URL that is not https:// or not a URL, saying where it comes from', () => {
    expect(() => client({ apiUrl: 'http://gitlab.example.com/api/v4' })).toThrow(
      new InputError('The GitLab API URL http://gitlab.example.com/api/v4 does not use https://.')
    )
    expect(() => client({ apiUrl: 'gitlab', hint: 'set CI_API_V4_URL' })).toThrow(
      new InputError('The GitLab API URL "gitlab" is not a URL: set CI_API_V4_URL.')
    )
  })

  it('keeps its connection for the next request, and close() ends it', async () => {
    const rest = client()
    await until(() => server.openConnections() === 0)
    await rest.request({ what: 'x', path: 'a' })
    await rest.request({ what: 'x', path: 'b' })
    expect(server.openConnections()).toBe(1)
    rest.close()
    await until(() => server.openConnections() === 0)
    expect(server.openConnections()).toBe(0)
  })
})
