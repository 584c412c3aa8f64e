import { afterAll, describe, expect, test } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type {
  FakeConvox,
  FakeConvoxOptions,
  RecordedRequest,
  WindowPhase
} from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { ConsoleRackOptions } from '../../../test-support/fake-console-racks.ts'
import type { FakeGitHub } from '../../../test-support/fake-github.ts'
import { startFakeGitHub } from '../../../test-support/fake-github.ts'
import type { Runner, StepOptions } from '../../../test-support/run-action.ts'
import { filesContaining, findLeaks, runnerPool, runStep } from '../../../test-support/run-action.ts'

/**
 * Issue 18 end to end through dist/index.cjs: a v3 rack's password rotated by Console, instance
 * SSH keys on v2 and v3 racks, and every refusal, against a fake Console whose rack records update
 * in real time (the proxied rack answering 401/502/503 meanwhile) and a fake GitHub API.
 */

const TOKEN = 'ConsoleCliToken0123456789abcdef'
const RACK_KEY = 'RackPassword0123456789abcdefGHIJ'
const GITHUB_TOKEN = 'github_pat_11WriteToken0123456789abcdef'
const RACK = 'acme/production'
const WINDOW: WindowPhase[] = [
  { ms: 700, mode: '503' },
  { ms: 1500, mode: 'flap' },
  { ms: 800, mode: 'reject' }
]

const runners = runnerPool()
afterAll(() => runners.removeAll())

function consoleFake(rack: {
  version?: string
  console?: ConsoleRackOptions
  provider?: string
}): Promise<FakeConvox> {
  const options: FakeConvoxOptions = {
    kind: 'console',
    users: [{ token: TOKEN, id: 'user-1' }],
    racks: [{ name: 'production', org: 'acme', version: '3.24.9', ...rack }]
  }
  return startFakeConvox(options)
}

const inputs = (fake: FakeConvox, runner: Runner, extra: Record<string, string>) => ({
  host: fake.host,
  password: TOKEN,
  rack: RACK,
  'ca-cert': fake.caCert,
  'config-dir': path.join(runner.temp, 'convox'),
  'keyroll-timeout': '60s',
  ...extra
})

/** Every scenario is one job: a fresh runner, and a step with the login's inputs plus its own. */
async function stepOnFreshRunner(fake: FakeConvox, extra: Record<string, string>, options?: StepOptions) {
  const runner = runners.fresh()
  return { runner, step: await runStep(runner, inputs(fake, runner, extra), options) }
}

/** A v3 instance keyroll behind Console whose new private key goes to the GitHub secret RACK_SSH_KEY. */
function instanceKeyrollIntoGitHub(fake: FakeConvox, github: FakeGitHub) {
  return stepOnFreshRunner(
    fake,
    { 'instances-keyroll': 'true', 'ssh-key-secret': 'RACK_SSH_KEY', 'github-token': GITHUB_TOKEN },
    { env: { GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: github.apiUrl } }
  )
}

/** Requests that change a rack: Console's rack update, the instance keyroll, the v2 PUT /system. */
const changes = (requests: RecordedRequest[]) =>
  requests.filter(r => r.method === 'PUT' || r.method === 'POST').map(r => `${r.method} ${r.path}`)

describe('a v3 rack password, rotated by Console', () => {
  test.concurrent(
    'rides out the update and says what it means; Console keeps the password, the login keeps working',
    async () => {
      const fake = await consoleFake({ console: { state: true, updateWindow: WINDOW } })
      try {
        const { step } = await stepOnFreshRunner(fake, { keyroll: 'true' })
        expect(step.error).toBeUndefined()
        expect(step.code).toBe(0)
        const record = fake.rotations.get(RACK)!.record
        expect(record.updates.map(({ params, version, force }) => ({ params, version, force }))).toEqual([
          { params: { rotate_api_password: 'true' }, version: '3.24.9', force: 'false' }
        ])
        expect(record.passwordRotations).toBe(1)
        expect(step.outputs).toMatchObject({ rotated: 'rack-password', kind: 'console' })
        expect(Number(step.outputs['keyroll-seconds'])).toBeGreaterThanOrEqual(3)
        expect(step.outputs.password).toBeUndefined()
        expect(step.stdout).toMatch(/RACK_URLs that embed the old password stop working/)
        expect(step.stdout).toMatch(/tokens survive a password rotation/)
        expect(step.summary).toMatch(/Rack password.*rotated by Console in \d+s/s)
        // The window was ridden out: the last check came after it ended, within the 10 s notice.
        const last = fake.requests.filter(r => r.rack === RACK && r.path === '/system').at(-1)!
        expect(last.status).toBe(200)
        expect(last.time).toBeGreaterThanOrEqual(record.liveAt!)
        expect(last.time - record.liveAt!).toBeLessThanOrEqual(10_000)
        // The job's Console token still works, and no store was needed or written.
        expect(step.env.CONVOX_PASSWORD).toBe(TOKEN)
        expect(findLeaks(step, [TOKEN])).toEqual([])
      } finally {
        await fake.close()
      }
    },
    60_000
  )

  test.concurrent(
    'after a job killed mid-window, the rerun waits for that update instead of rotating twice',
    async () => {
      const fake = await consoleFake({
        console: { state: true, updateWindow: [{ ms: 9000, mode: 'flap' }] }
      })
      try {
        const runner = runners.fresh()
        const killed = await runStep(runner, inputs(fake, runner, { keyroll: 'true' }), {
          onSpawn: (child, stdout) => {
            const timer = setInterval(() => {
              if (stdout().includes('Console started the rotation')) {
                clearInterval(timer)
                child.kill('SIGKILL')
              }
            }, 50)
          }
        })
        expect(killed.signal).toBe('SIGKILL')
        const record = fake.rotations.get(RACK)!.record
        expect(record.updates).toHaveLength(1)
        const rerun = await runStep(runner, inputs(fake, runner, { keyroll: 'true' }))
        expect(rerun.error).toBeUndefined()
        expect(rerun.stdout).toMatch(/is already updating .*instead of asking for a second one/)
        // Console's record said `updating`: the rerun sent no second PUT, and one rotation happened.
        expect(changes(fake.requests)).toEqual([`PUT /racks/acme/production`])
        expect(record.passwordRotations).toBe(1)
      } finally {
        await fake.close()
      }
    },
    60_000
  )

  test.concurrent.each<[string, () => Promise<FakeConvox>, Record<string, string>, RegExp]>([
    [
      'a v3 rack reached directly',
      () => startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY, version: '3.24.9' } }),
      { password: RACK_KEY, rack: '' },
      /keyroll: true refused: production is a v3 rack \(version 3\.24\.9\) reached directly.*convox rack params set rotate_api_password=true -r production on the machine that holds the rack's Terraform state/
    ],
    [
      'a Console rack without state',
      () => consoleFake({ console: { state: false } }),
      {},
      /Console does not hold the Terraform state of acme\/production .*convox rack params set rotate_api_password=true -r acme\/production/
    ],
    [
      'a v2 rack behind Console',
      () => consoleFake({ version: '20240101000000', console: { state: true } }),
      {},
      /acme\/production is a v2 rack, whose key Console keeps itself.*"Roll API key"/
    ],
    [
      'a Console login without rack',
      () => consoleFake({ console: { state: true } }),
      { rack: '' },
      /keyroll: true on a Console login needs rack naming the rack to rotate/
    ]
  ])(
    'refuses %s before anything is written or sent',
    async (_name, start, extra, message) => {
      const fake = await start()
      try {
        const { runner, step } = await stepOnFreshRunner(fake, { keyroll: 'true', ...extra })
        expect(step.code).toBe(1)
        expect(step.error).toMatch(message)
        expect(step.error).not.toMatch(/Unexpected error/)
        expect(changes(fake.requests)).toEqual([])
        expect(fs.existsSync(path.join(runner.temp, 'convox'))).toBe(false)
        expect(step.state).toEqual(expect.not.objectContaining({ journal: expect.anything() }))
      } finally {
        await fake.close()
      }
    },
    30_000
  )

  test.concurrent(
    'a Console that refuses the update is quoted, cleaned, in one sentence',
    async () => {
      const fake = await consoleFake({
        console: {
          state: true,
          putError: { status: 403, body: JSON.stringify({ error: `forbidden for ${TOKEN}\n::warning::x` }) }
        }
      })
      try {
        const { step } = await stepOnFreshRunner(fake, { keyroll: 'true' })
        expect(step.code).toBe(1)
        expect(step.error).toMatch(
          /^Console refused to update acme\/production \(HTTP 403: forbidden for \*\*\*\): nothing was changed/
        )
        expect(fake.rotations.get(RACK)!.record.passwordRotations).toBe(0)
        expect(findLeaks(step, [TOKEN])).toEqual([])
      } finally {
        await fake.close()
      }
    },
    30_000
  )
})

describe('instance SSH keys', () => {
  test.concurrent(
    'v2 rack: waits for an update under way, then one POST, then rides out the new one',
    async () => {
      const fake = await startFakeConvox({
        kind: 'rack',
        rack: { password: RACK_KEY },
        // Long enough to still be updating when the step starts on a loaded machine.
        console: { updatingForMs: 8000, instancesMs: 2500 }
      })
      try {
        const { step } = await stepOnFreshRunner(fake, {
          password: RACK_KEY,
          rack: '',
          'instances-keyroll': 'true'
        })
        expect(step.error).toBeUndefined()
        expect(changes(fake.requests)).toEqual(['POST /instances/keyroll'])
        const post = fake.requests.find(r => r.method === 'POST')!
        const record = fake.rotations.get('')!.record
        expect(record.instanceKeyrolls).toBe(1)
        expect(post.status).toBe(200)
        expect(step.stdout).toMatch(/waiting for it to be running before rolling the instance keys/)
        expect(step.outputs).toMatchObject({ rotated: 'instance-keys', 'key-pair-name': '' })
        expect(Number(step.outputs['instances-keyroll-seconds'])).toBeGreaterThanOrEqual(2)
        expect(fake.rack.status).toBe('running')
        expect(findLeaks(step, [RACK_KEY])).toEqual([])
      } finally {
        await fake.close()
      }
    },
    60_000
  )

  test.concurrent(
    'v3 rack behind Console: the private key is stored before key_pair_name is applied, and never printed',
    async () => {
      const [fake, github] = await Promise.all([
        consoleFake({ console: { state: true, updateWindow: WINDOW } }),
        startFakeGitHub({ tokens: [GITHUB_TOKEN] })
      ])
      try {
        const { runner, step } = await instanceKeyrollIntoGitHub(fake, github)
        expect(step.error).toBeUndefined()
        const record = fake.rotations.get(RACK)!.record
        const [[name, privateKey]] = [...record.keyPairs] as [[string, string]]
        expect(name).toMatch(/^production-keypair-\d+$/)
        expect(github.secrets().get('RACK_SSH_KEY')).toBe(privateKey)
        const stored = github.ops.find(op => op.op === 'put' && op.name === 'RACK_SSH_KEY')!
        expect(stored.time).toBeLessThanOrEqual(record.updates[0]!.at)
        expect(record.updates.map(u => u.params)).toEqual([{ key_pair_name: name }])
        expect(record.keyPairName).toBe(name)
        expect(step.outputs).toMatchObject({ rotated: 'instance-keys', 'key-pair-name': name })
        expect(step.summary).toContain(`key pair ${name}`)
        const lines = privateKey.split('\n').filter(l => l.length > 20)
        expect(findLeaks(step, [TOKEN, GITHUB_TOKEN], { made: [privateKey, ...lines] })).toEqual([])
        for (const text of [
          step.stdout,
          step.stderr,
          step.summary,
          JSON.stringify(step.outputs),
          JSON.stringify(step.env)
        ]) {
          for (const line of lines)
            expect(text.split('\n').filter(l => !l.startsWith('::add-mask::') && l.includes(line))).toEqual(
              []
            )
        }
        expect(filesContaining(runner.root, [privateKey, ...lines])).toEqual([])
      } finally {
        await Promise.all([fake.close(), github.close()])
      }
    },
    60_000
  )

  test.concurrent.each<[string, ConsoleRackOptions, Record<string, string>, RegExp]>([
    [
      'without ssh-key-secret',
      { state: true },
      {},
      /instances-keyroll: true on the v3 rack acme\/production makes a key pair .*set ssh-key-secret/
    ],
    [
      'on a rack Console does not manage',
      { state: false },
      { 'ssh-key-secret': 'RACK_SSH_KEY', 'github-token': GITHUB_TOKEN },
      /whose Terraform state Console does not hold.*convox rack params set key_pair_name=<its name> -r acme\/production/
    ]
  ])(
    'v3: refuses %s before POST /instances/keyroll',
    async (_name, consoleOptions, extra, message) => {
      const fake = await consoleFake({ console: consoleOptions })
      try {
        const { runner, step } = await stepOnFreshRunner(
          fake,
          { 'instances-keyroll': 'true', ...extra },
          { env: { GITHUB_REPOSITORY: 'acme/app' } }
        )
        expect(step.code).toBe(1)
        expect(step.error).toMatch(message)
        expect(changes(fake.requests)).toEqual([])
        expect(fs.existsSync(path.join(runner.temp, 'convox'))).toBe(false)
      } finally {
        await fake.close()
      }
    },
    30_000
  )

  test.concurrent(
    'v3 provider without instance keys: 501 in one sentence',
    async () => {
      const [fake, github] = await Promise.all([
        consoleFake({ provider: 'gcp', console: { state: true } }),
        startFakeGitHub({ tokens: [GITHUB_TOKEN] })
      ])
      try {
        const { step } = await instanceKeyrollIntoGitHub(fake, github)
        expect(step.code).toBe(1)
        expect(step.error).toBe(
          'acme/production has no instance SSH keys to roll (POST /instances/keyroll answered 501: its provider does not offer them). Nothing was changed.'
        )
        expect(github.ops).toEqual([])
      } finally {
        await Promise.all([fake.close(), github.close()])
      }
    },
    30_000
  )
})
