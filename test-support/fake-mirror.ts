import https from 'node:https'
import { listenOnLoopback, testTls } from './tls.ts'

/**
 * A loopback HTTPS server standing in for everything the CLI installer talks to (docs/convox.md
 * section 8): GitHub releases, S3 or a mirror serving files, and the GitHub API's latest release.
 * Each path answers as configured, anything else gets 404, and every request is recorded so a
 * test can assert that a cache hit sent none.
 */

export interface MirrorRoute {
  /** 200 when omitted. */
  status?: number
  body?: Buffer | string
  contentType?: string
  /** The first `times` requests get `status` instead: a CDN catching its breath. */
  failFirst?: { times: number; status: number }
  /** Announces the whole body in Content-Length, then cuts the connection after this many bytes. */
  cutAfter?: number
}

export interface MirrorRequest {
  method: string
  path: string
  authorization?: string
  /** The client's port of the connection it came on (a proxy's, through one). */
  clientPort: number
}

export interface FakeMirror {
  /** `https://127.0.0.1:<port>`, no trailing slash. */
  url: string
  /** The test CA, for NODE_EXTRA_CA_CERTS in child processes. */
  caPath: string
  requests: MirrorRequest[]
  route(path: string, route: MirrorRoute): void
  /** Connections a client still holds open (keep-alive): 0 once it closed its clients. */
  openConnections(): number
  close(): Promise<void>
}

export const LATEST_RELEASE_PATH = '/repos/convox/convox/releases/latest'

/** What https://convox.com/cli/linux/convox has served since 2022 instead of the CLI. */
export const HTML_PAGE =
  '<!DOCTYPE html>\n<html lang="en"><head><title>Install the Convox CLI</title></head><body></body></html>\n'

/** The GitHub API's answer to `GET /repos/convox/convox/releases/latest`. */
export function latestRelease(tag: string): MirrorRoute {
  return {
    body: JSON.stringify({ tag_name: tag, name: tag, draft: false, prerelease: false }),
    contentType: 'application/json'
  }
}

export async function startFakeMirror(routes: Record<string, MirrorRoute> = {}): Promise<FakeMirror> {
  const tls = testTls()
  const table = new Map(Object.entries(routes))
  const failures = new Map<string, number>()
  const requests: MirrorRequest[] = []

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    requests.push({
      method: req.method ?? '',
      path,
      authorization: req.headers.authorization,
      clientPort: req.socket.remotePort!
    })
    const route = table.get(path)
    if (!route) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n')
    const failed = failures.get(path) ?? 0
    if (route.failFirst && failed < route.failFirst.times) {
      failures.set(path, failed + 1)
      return void res.writeHead(route.failFirst.status, { 'Content-Type': 'text/plain' }).end('try again\n')
    }
    const body = Buffer.from(route.body ?? '')
    res.writeHead(route.status ?? 200, {
      'Content-Type': route.contentType ?? 'application/octet-stream',
      'Content-Length': String(body.length)
    })
    if (route.cutAfter === undefined) return void res.end(body)
    res.write(body.subarray(0, route.cutAfter), () => req.socket.destroy())
  })
  const { port, close, openConnections } = await listenOnLoopback(server)

  return {
    url: `https://127.0.0.1:${port}`,
    caPath: tls.caPath,
    requests,
    route(path, route) {
      table.set(path, route)
      failures.delete(path)
    },
    openConnections,
    close() {
      return close()
    }
  }
}
