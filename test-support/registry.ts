import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { closedPort } from './tls.ts'

/**
 * A real npm registry (Verdaccio, a devDependency) on loopback, for the package's publish and
 * install: its own storage and config in `dir`, no uplink (a package that needs anything besides its
 * own tarball fails to install), one user from an htpasswd file, and an npm user config that
 * publishes and installs through it alone.
 */

export interface LoopbackRegistry {
  url: string
  /** An npm user config (`--userconfig`) pointing at this registry, with the publishing user's auth. */
  userconfig: string
  /** The registry's own log, for a failing test to show. */
  log: () => string
  close(): Promise<void>
}

const VERDACCIO = path.resolve(import.meta.dirname, '..', 'node_modules', 'verdaccio', 'bin', 'verdaccio')
const USER = 'publisher'
const PASSWORD = crypto.randomBytes(12).toString('hex')

export async function startRegistry(dir: string): Promise<LoopbackRegistry> {
  const port = await closedPort()
  const url = `http://127.0.0.1:${port}/`
  const sha1 = crypto.createHash('sha1').update(PASSWORD).digest('base64')
  fs.writeFileSync(path.join(dir, 'htpasswd'), `${USER}:{SHA}${sha1}\n`)
  fs.writeFileSync(
    path.join(dir, 'config.yaml'),
    [
      `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
      'auth:',
      `  htpasswd: { file: ${JSON.stringify(path.join(dir, 'htpasswd'))}, max_users: -1 }`,
      'uplinks: {}',
      'packages:',
      "  '**': { access: $all, publish: $authenticated }",
      'log: { type: stdout, format: json, level: warn }',
      ''
    ].join('\n')
  )
  const userconfig = path.join(dir, 'npmrc')
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
  fs.writeFileSync(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_auth=${auth}\n`)

  const child = spawn(
    process.execPath,
    [VERDACCIO, '--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let log = ''
  child.stdout.on('data', chunk => (log += chunk))
  child.stderr.on('data', chunk => (log += chunk))
  const exited = new Promise<void>(resolve => child.on('exit', () => resolve()))
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  // Verdaccio logs its address before the listen succeeds: ready is when it answers.
  const deadline = Date.now() + 30_000
  while (!(await pings(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close()
      throw new Error(`Verdaccio did not start on ${url}:\n${log}`)
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return { url, userconfig, log: () => log, close }
}

function pings(url: string): Promise<boolean> {
  return new Promise(resolve => {
    const request = http.get(`${url}-/ping`, response => {
      response.resume()
      resolve(response.statusCode === 200)
    })
    request.on('error', () => resolve(false))
    request.setTimeout(2000, () => request.destroy())
  })
}
