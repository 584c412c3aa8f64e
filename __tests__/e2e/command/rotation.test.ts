import { afterAll, describe, expect, test } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox, RecordedRequest } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { ConsoleRackOptions } from '../../../test-support/fake-console-racks.ts'
import { startFakeGitLab } from '../../../test-support/fake-gitlab.ts'
import type { Machine } from '../../../test-support/run-cli.ts'
import { cliLeaks, KEY_LINES, machinePool, runCli } from '../../../test-support/run-cli.ts'

/**
 * Issue 18 through the built command (dist/convox-login.cjs): `convox-login keyroll` on a Console
 * login rotates a v3 rack's password with no store flag, `--instances` rolls the instance keys
 * (a v3 private key to --ssh-key-file), and the refusals speak in flags.
 */

const TOKEN = 'ConsoleCliToken0123456789abcdef'
const RACK_KEY = 'RackPassword0123456789abcdefGHIJ'
const RACK = 'acme/production'

const machines = machinePool()
afterAll(() => machines.removeAll())

const consoleFake = (console: ConsoleRackOptions, version = '3.24.9'): Promise<FakeConvox> =>
  startFakeConvox({
    kind: 'console',
    users: [{ token: TOKEN, id: 'user-1' }],
    racks: [{ name: 'production', org: 'acme', version, console }]
  })

const changes = (requests: RecordedRequest[]) =>
  requests.filter(r => r.method === 'PUT' || r.method === 'POST').map(r => `${r.method} ${r.path}`)

function keyroll(fake: FakeConvox, dir: string, ...extra: string[]): string[] {
  return ['keyroll', '--host', fake.host, '--config-dir', dir, '--timeout', '60s', '--format', 'sh', ...extra]
}

/** A keyroll of acme/production through Console on machine m, logged in with the Console token. */
function consoleKeyroll(
  m: Machine,
  fake: FakeConvox,
  flags: string[] = [],
  env: Record<string, string> = {}
) {
  return runCli(m, keyroll(fake, path.join(m.work, 'convox'), '--rack', RACK, ...flags), {
    env: { ...env, CONVOX_PASSWORD: TOKEN }
  })
}

describe('convox-login keyroll, issue 18', () => {
  test.concurrent(
    'rotates a v3 rack password through Console with --rack and no store flag',
    async () => {
      const fake = await consoleFake({ state: true, updateWindow: [{ ms: 2000, mode: 'flap' }] })
      try {
        const m = machines.fresh()
        const result = await consoleKeyroll(m, fake)
        expect(result.stderr).toMatch(
          /Password rotated in .*RACK_URLs that embed the old password stop working/
        )
        expect(result.code).toBe(0)
        expect(fake.rotations.get(RACK)!.record.passwordRotations).toBe(1)
        expect(changes(fake.requests)).toEqual(['PUT /racks/acme/production'])
        expect(cliLeaks(result, [TOKEN], { host: fake.host, allowed: KEY_LINES.sh })).toEqual([])
      } finally {
        await fake.close()
      }
    },
    60_000
  )

  test.concurrent(
    '--instances-only on a v3 rack: the private key goes to --ssh-key-file (0600), nowhere else',
    async () => {
      const fake = await consoleFake({ state: true, updateWindow: [{ ms: 1500, mode: '503' }] })
      try {
        const m = machines.fresh()
        const keyFile = path.join(m.work, 'rack-ssh-key.pem')
        const result = await consoleKeyroll(m, fake, ['--instances-only', '--ssh-key-file', keyFile])
        expect(result.stderr).toMatch(/Instance SSH keys rolled in .*the key pair production-keypair-\d+/)
        expect(result.code).toBe(0)
        const record = fake.rotations.get(RACK)!.record
        const [[name, privateKey]] = [...record.keyPairs] as [[string, string]]
        expect(fs.readFileSync(keyFile, 'utf8')).toBe(privateKey)
        expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
        expect(record.keyPairName).toBe(name)
        expect(changes(fake.requests)).toEqual(['POST /instances/keyroll', 'PUT /racks/acme/production'])
        const lines = privateKey.split('\n').filter(l => l.length > 20)
        for (const line of lines) expect(result.stdout + result.stderr).not.toContain(line)
      } finally {
        await fake.close()
      }
    },
    60_000
  )

  test.concurrent(
    '--instances-only on a v3 rack: the private key goes to an existing GitLab file variable, nowhere else',
    async () => {
      const GITLAB_TOKEN = 'glpat-WriteToken0123456789abc'
      const [fake, gitlab] = await Promise.all([
        consoleFake({ state: true, updateWindow: [{ ms: 1000, mode: '502' }] }),
        startFakeGitLab({ tokens: [GITLAB_TOKEN] })
      ])
      try {
        // A PEM cannot be a masked variable: GitLab keeps it as a protected file variable.
        gitlab.set({ key: 'RACK_SSH_KEY', value: 'old key', variable_type: 'file', protected: true })
        const m = machines.fresh()
        const result = await consoleKeyroll(
          m,
          fake,
          ['--instances-only', '--ssh-key-gitlab-variable', 'RACK_SSH_KEY'],
          {
            GITLAB_CI: 'true',
            GITLAB_TOKEN,
            CI_PROJECT_ID: gitlab.projectId,
            CI_API_V4_URL: gitlab.apiUrl
          }
        )
        expect(result.code).toBe(0)
        const record = fake.rotations.get(RACK)!.record
        const [[name, privateKey]] = [...record.keyPairs] as [[string, string]]
        expect(gitlab.variables).toEqual([
          expect.objectContaining({
            key: 'RACK_SSH_KEY',
            value: privateKey,
            variable_type: 'file',
            protected: true
          })
        ])
        expect(record.keyPairName).toBe(name)
        expect(changes(fake.requests)).toEqual(['POST /instances/keyroll', 'PUT /racks/acme/production'])
        for (const line of privateKey.split('\n').filter(l => l.length > 20)) {
          expect(result.stdout + result.stderr).not.toContain(line)
        }
        expect(cliLeaks(result, [TOKEN, GITLAB_TOKEN], { host: fake.host, allowed: KEY_LINES.sh })).toEqual(
          []
        )
      } finally {
        await Promise.all([fake.close(), gitlab.close()])
      }
    },
    60_000
  )

  test.concurrent(
    'a password store flag with --instances-only is a usage error (exit 2), before anything',
    async () => {
      const m = machines.fresh()
      const result = await runCli(
        m,
        ['keyroll', '--host', 'rack.example.com', '--instances-only', '--github-secret', 'CONVOX_PASSWORD'],
        { env: { CONVOX_PASSWORD: RACK_KEY } }
      )
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(
        /^convox-login: --github-secret is for the rack password, which --instances-only does not roll: remove it, or use --instances to roll both\.$/m
      )
    }
  )

  test.concurrent(
    '--instances on a v2 rack: the password first, then the instance keys with the new password',
    async () => {
      const fake = await startFakeConvox({
        kind: 'rack',
        rack: { password: RACK_KEY },
        keyrollWindow: [{ ms: 800, mode: 'flap' }],
        console: { instancesMs: 1500 }
      })
      try {
        const m = machines.fresh()
        const nextFile = path.join(m.work, 'next-key')
        const result = await runCli(
          m,
          keyroll(fake, path.join(m.work, 'convox'), '--instances', '--next-password-file', nextFile),
          { env: { CONVOX_PASSWORD: RACK_KEY } }
        )
        expect(result.stderr).toMatch(/Instance SSH keys rolled in/)
        expect(result.code).toBe(0)
        const newKey = fake.rack.password
        expect(newKey).not.toBe(RACK_KEY)
        expect(changes(fake.requests)).toEqual(['PUT /system', 'POST /instances/keyroll'])
        const post = fake.requests.find(r => r.method === 'POST')!
        expect(post.password).toBe(newKey)
        expect(post.time).toBeGreaterThanOrEqual(fake.keyroll.liveAt!)
        expect(fake.rotations.get('')!.record.instanceKeyrolls).toBe(1)
        expect(cliLeaks(result, [RACK_KEY, newKey], { host: fake.host, allowed: KEY_LINES.sh })).toEqual([])
      } finally {
        await fake.close()
      }
    },
    60_000
  )

  test.concurrent.each<[string, () => Promise<FakeConvox>, string[], Record<string, string>, RegExp]>([
    [
      'a v3 rack reached directly (no store needed to say so)',
      () => startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY, version: '3.24.9' } }),
      ['--rack', 'production'],
      { CONVOX_PASSWORD: RACK_KEY },
      /^convox-login: convox-login keyroll refused: production is a v3 rack .*reached directly.*with --rack if Console manages the rack/m
    ],
    [
      'a v3 instance keyroll without a store for the private key',
      () => consoleFake({ state: true }),
      ['--rack', RACK, '--instances-only'],
      { CONVOX_PASSWORD: TOKEN },
      /--instances on the v3 rack acme\/production makes a key pair .*set --ssh-key-github-secret to where it goes/
    ],
    [
      'a v2 rack reached directly with --rack and no store',
      () => startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } }),
      ['--rack', 'production'],
      { CONVOX_PASSWORD: RACK_KEY },
      /A keyroll of a v2 rack makes a new key, which needs somewhere to go: set --github-secret/
    ]
  ])(
    'refuses %s before anything is written or sent',
    async (_name, start, extra, env, message) => {
      const fake = await start()
      try {
        const m = machines.fresh()
        const dir = path.join(m.work, 'convox')
        const result = await runCli(m, keyroll(fake, dir, ...extra), { env })
        expect(result.stderr).toMatch(message)
        expect(result.code).toBe(1)
        expect(changes(fake.requests)).toEqual([])
        expect(fs.existsSync(dir)).toBe(false)
      } finally {
        await fake.close()
      }
    },
    30_000
  )
})
