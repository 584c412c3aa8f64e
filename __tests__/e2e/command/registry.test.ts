import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { cliAsset } from '../../../src/core/cli-install/release.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { realExecutable } from '../../../test-support/fake-cli.ts'
import type { FakeMirror } from '../../../test-support/fake-mirror.ts'
import { startFakeMirror } from '../../../test-support/fake-mirror.ts'
import type { LoopbackRegistry } from '../../../test-support/registry.ts'
import { startRegistry } from '../../../test-support/registry.ts'
import { testTls } from '../../../test-support/tls.ts'

/**
 * The package as a user gets it: published to a real npm registry on loopback (Verdaccio, no
 * uplink, so the package must install from its own tarball alone), installed into an empty prefix
 * exactly as the README says (`npm install --global convox-login@1`, `npx --yes convox-login@1`),
 * and run from the installed copy on every Node this machine has that package.json's engines
 * admits: --version, a login against a loopback fake Rack and a logout, and a CLI install from a
 * loopback mirror, which loads the lazily required dist/vendor/tool-cache.cjs.
 */

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../../..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
  engines: { node: string }
}
const RACK_KEY = 'RegistryTestRackKey0123456789'
const CLI_VERSION = '3.24.9'
const CLI_ASSET = `/convox/${CLI_VERSION}/${cliAsset(CLI_VERSION, process.platform, process.arch, INPUT_NAMING).asset}`
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-registry-'))
const ran: string[] = []
let registry: LoopbackRegistry
let rack: FakeConvox
let mirror: FakeMirror

/** Whether `engines` (`>=X[.Y[.Z]]`, the one form package.json uses) admits a `vX.Y.Z`. */
function admits(engines: string, version: string): boolean {
  const floor = /^>=(\d+(?:\.\d+){0,2})$/.exec(engines)
  if (!floor) throw new Error(`package.json's engines.node "${engines}" is not of the form >=X.Y.`)
  const want = floor[1]!.split('.').map(Number)
  const have = version.replace(/^v/, '').split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0)
  }
  return true
}

/** Every distinct Node on this machine: the one running the tests, and each `node` on PATH. */
function machineNodes(): Array<{ binary: string; version: string }> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
  const found = new Map<string, { binary: string; version: string }>()
  for (const candidate of [process.execPath, ...dirs.map(dir => path.join(dir, 'node'))]) {
    if (!fs.existsSync(candidate)) continue
    const binary = fs.realpathSync(candidate)
    const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()
    if (![...found.values()].some(n => n.version === version)) found.set(binary, { binary, version })
  }
  return [...found.values()]
}

const nodes = machineNodes()
const admitted = nodes.filter(n => admits(pkg.engines.node, n.version))

/**
 * An environment made from nothing but what the step needs: this Node first on PATH (npm's and the
 * command's `#!/usr/bin/env node` find it), a temporary HOME, npm's configs pointing at the
 * loopback registry, so neither the user's ~/.npmrc nor any default registry nor an npm_config_*
 * of the npm that runs the tests is used.
 */
function envFor(node: { binary: string }, name: string, extra: Record<string, string> = {}) {
  const dir = path.join(work, name)
  const shim = path.join(dir, 'node-bin')
  fs.mkdirSync(shim, { recursive: true })
  if (!fs.existsSync(path.join(shim, 'node'))) fs.symlinkSync(node.binary, path.join(shim, 'node'))
  fs.mkdirSync(path.join(dir, 'home'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'globalconfig'), '')
  return {
    dir,
    env: {
      PATH: [shim, path.join(dir, 'prefix', 'bin'), process.env.PATH ?? ''].join(path.delimiter),
      HOME: path.join(dir, 'home'),
      npm_config_userconfig: registry.userconfig,
      npm_config_globalconfig: path.join(dir, 'globalconfig'),
      npm_config_cache: path.join(dir, 'npm-cache'),
      npm_config_prefix: path.join(dir, 'prefix'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...extra
    }
  }
}

beforeAll(async () => {
  fs.mkdirSync(path.join(work, 'registry'))
  ;[registry, rack, mirror] = await Promise.all([
    startRegistry(path.join(work, 'registry')),
    startFakeConvox({ kind: 'rack', rack: { name: 'production', password: RACK_KEY } }),
    startFakeMirror({ [CLI_ASSET]: { body: realExecutable() } })
  ])
  const { env } = envFor({ binary: process.execPath }, 'publisher')
  // As the release workflow does, less --provenance, which only a CI's OIDC token can sign.
  await run('npm', ['publish'], { cwd: root, env })
}, 120_000)

afterAll(async () => {
  await Promise.all([registry?.close(), rack?.close(), mirror?.close()])
  fs.rmSync(work, { recursive: true, force: true })
  console.log(
    `registry test: published ${pkg.name}@${pkg.version} to Verdaccio on loopback (no uplink); ` +
      `npm install --global ${pkg.name}@1 and npx --yes ${pkg.name}@1 ran --version, login, logout and install-cli ` +
      `on Node ${ran.join(', ')} (engines.node ${pkg.engines.node}; this machine has ${nodes.map(n => n.version).join(', ')})`
  )
})

describe('the published package', () => {
  it('runs on a Node engines admits (else engines claims what nothing here checks)', () => {
    expect(admitted.length).toBeGreaterThan(0)
    expect(admits('>=20.18', 'v20.17.9')).toBe(false)
    expect(admits('>=20.18', 'v20.18.0')).toBe(true)
    expect(admits('>=20.18', 'v24.0.0')).toBe(true)
    expect(admits('>=20.18', 'v19.99.0')).toBe(false)
  })

  it.each(admitted.map(n => [n.version, n] as const))(
    'installs from the registry alone and runs on Node %s',
    async (version, node) => {
      const { dir, env } = envFor(node, `node-${version}`)
      await run('npm', ['install', '--global', `${pkg.name}@1`], { cwd: work, env })
      const installed = path.join(dir, 'prefix', 'lib', 'node_modules', pkg.name)
      // One tarball and nothing else: the bundles hold every dependency.
      expect(fs.existsSync(path.join(installed, 'node_modules'))).toBe(false)

      const command = (args: string[], extra: Record<string, string> = {}) =>
        run('convox-login', args, { cwd: dir, env: { ...env, ...extra } })
      expect((await command(['--version'])).stdout).toBe(`convox-login ${pkg.version}\n`)
      const npx = await run('npx', ['--yes', `${pkg.name}@1`, '--version'], {
        cwd: dir,
        env: { ...env, npm_config_cache: path.join(dir, 'npx-cache') }
      })
      expect(npx.stdout).toBe(`convox-login ${pkg.version}\n`)

      const config = path.join(dir, 'convox')
      const state = path.join(dir, 'state')
      const before = rack.requests.length
      const login = await command(
        [
          'login',
          '--host',
          rack.host,
          '--ca-cert-file',
          testTls().caPath,
          '--config-dir',
          config,
          '--state-file',
          state
        ],
        { CONVOX_PASSWORD: RACK_KEY }
      )
      expect(login.stderr).not.toContain(RACK_KEY)
      expect(JSON.parse(fs.readFileSync(path.join(config, 'auth'), 'utf8'))).toEqual({
        [rack.host]: RACK_KEY
      })
      expect(rack.requests.slice(before).some(r => r.password === RACK_KEY && r.status === 200)).toBe(true)

      await command(['logout', '--config-dir', config, '--state-file', state])
      expect(fs.existsSync(config)).toBe(false)

      const install = await command(
        [
          'install-cli',
          '--version',
          CLI_VERSION,
          '--download-url',
          `${mirror.url}/convox/{version}/{asset}`,
          '--cache-dir',
          path.join(dir, 'cli-cache'),
          '--format',
          'json'
        ],
        { NODE_EXTRA_CA_CERTS: testTls().caPath }
      )
      expect(JSON.parse(install.stdout)).toMatchObject({ 'cli-version': CLI_VERSION })
      ran.push(version)
    },
    120_000
  )
})
