import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TestTls {
  caCert: string
  cert: string
  key: string
  /** Path of the CA PEM, for NODE_EXTRA_CA_CERTS or curl. */
  caPath: string
}

let cached: TestTls | undefined

/**
 * A CA made for the tests and a server certificate it signed for 127.0.0.1 and localhost, so
 * the fakes speak real, verified HTTPS. ECDSA P-256, the key type Let's Encrypt issues by default. Made once per machine into the OS temp dir; written to a
 * fresh directory and renamed into place so parallel jest workers never see half a set.
 */
export function testTls(): TestTls {
  if (cached) return cached
  const dir = path.join(os.tmpdir(), 'convox-login-test-tls-v2')
  if (!fs.existsSync(path.join(dir, 'done'))) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-tls-'))
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: work, stdio: 'pipe' })
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=convox-login test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign'
    )
    run(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      'server.key',
      '-out',
      'server.csr'
    )
    fs.writeFileSync(
      path.join(work, 'ext.cnf'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n'
    )
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-out',
      'server.pem',
      '-extfile',
      'ext.cnf'
    )
    fs.writeFileSync(path.join(work, 'done'), '')
    try {
      fs.renameSync(work, dir)
    } catch {
      fs.rmSync(work, { recursive: true, force: true }) // another worker won the race
    }
  }
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8')
  cached = {
    caCert: read('ca.pem'),
    cert: read('server.pem'),
    key: read('server.key'),
    caPath: path.join(dir, 'ca.pem')
  }
  return cached
}

/**
 * Starts an HTTPS server of the fakes on a free loopback port. `close` also cuts open keep-alive
 * connections, so a test never waits for a client's idle socket; `openConnections` counts the
 * connections a client has not closed yet.
 */
export async function listenOnLoopback(
  server: import('node:net').Server
): Promise<{ port: number; close: () => Promise<void>; openConnections: () => number }> {
  const sockets = new Set<import('node:stream').Duplex>()
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as import('node:net').AddressInfo).port,
    openConnections: () => sockets.size,
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise(resolve => server.close(() => resolve()))
    }
  }
}

/** A loopback port nothing listens on, for connection-refused cases. */
export async function closedPort(): Promise<number> {
  const server = (await import('node:net')).createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as import('node:net').AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}
