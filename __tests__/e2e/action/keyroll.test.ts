import { describe, expect, test } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { ConvoxApi } from '../../../src/core/api.ts'
import { rackUrl, secretForms } from '../../../src/core/secrets.ts'
import type {
  FakeConvox,
  FakeConvoxOptions,
  RecordedRequest,
  WindowPhase
} from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { FakeGitHub, FakeGitHubOp } from '../../../test-support/fake-github.ts'
import { startFakeGitHub } from '../../../test-support/fake-github.ts'
import type { Runner, StepOptions, StepResult } from '../../../test-support/run-action.ts'
import {
  filesContaining,
  findLeaks,
  newRunner,
  removeRunner,
  runStep
} from '../../../test-support/run-action.ts'

/**
 * Keyroll end to end: dist/index.cjs runs as a child process exactly as a runner starts it,
 * against a fake Rack over real HTTPS (whose keyroll window runs in real time) and a fake GitHub
 * API that opens the sealed secrets. The keyroll schedule is the real one (polls 3.2 s apart), so
 * the windows are short and the scenarios run concurrently, each with its own fakes and runner.
 */

const OLD = 'OldRackKey0123456789abcdefGHIJKLmnop'
const TOKEN = 'github_pat_11WriteToken0123456789abcdef'
const READ_ONLY_TOKEN = 'ghs_ReadOnlyWorkflowToken0123456789'
const CONSOLE_TOKEN = 'ConsoleCliToken0123456789abcdef'
const NAME = 'CONVOX_PASSWORD'
const NEXT = `${NAME}_NEXT`
const REPOSITORY = 'acme/app'

/** 503 while the load balancer drains, then old and new tasks side by side, then neither key. */
const WINDOW: WindowPhase[] = [
  { ms: 500, mode: '503' },
  { ms: 500, mode: 'flap' },
  { ms: 500, mode: 'reject' }
]

interface Setup {
  fake: FakeConvox
  github: FakeGitHub
  runner: Runner
  /** Update environment secrets of this environment instead of repository secrets. */
  environment?: string
  /** What happened, in order, across both fakes: `rack PUT /system`, `github put CONVOX_PASSWORD_NEXT`. */
  events: string[]
  /** Moments at which no stored secret held the key the rack uses (or returns to). */
  violations: string[]
  stepEnv: Record<string, string>
  stored(): { current?: string; next?: string }
  /** Called synchronously as each event happens; returns the unsubscribe. */
  onEvent(listener: (event: string) => void): () => void
  close(): Promise<void>
}

interface SetupOptions {
  convox?: Partial<FakeConvoxOptions>
  environment?: string
  /** Check after every change on either fake that a stored secret holds the rack's key. */
  invariant?: boolean
}

async function setUp(options: SetupOptions = {}): Promise<Setup> {
  const fake = await startFakeConvox({
    kind: 'rack',
    rack: { password: OLD },
    keyrollWindow: WINDOW,
    ...options.convox
  })
  const github = await startFakeGitHub({
    repository: REPOSITORY,
    tokens: [TOKEN],
    readOnlyTokens: [READ_ONLY_TOKEN],
    environments: options.environment ? [options.environment] : []
  })
  const secrets = () => github.secrets(options.environment)
  secrets().set(NAME, OLD)
  const events: string[] = []
  const violations: string[] = []
  const listeners = new Set<(event: string) => void>()
  const stored = () => ({ current: secrets().get(NAME), next: secrets().get(NEXT) })
  const happened = (event: string) => {
    events.push(event)
    for (const listener of [...listeners]) listener(event)
    if (!options.invariant) return
    // After the fake has applied the request (the rack applies a PUT right after recording it).
    queueMicrotask(() => {
      const { current, next } = stored()
      if (fake.rack.password !== current && fake.rack.password !== next) {
        violations.push(`after ${event}: the rack uses a key that no stored secret holds`)
      }
    })
  }
  hookPush(fake.requests, (r: RecordedRequest) => happened(`rack ${r.method} ${r.path}`))
  hookPush(github.ops, (op: FakeGitHubOp) => happened(`github ${op.op}${op.name ? ` ${op.name}` : ''}`))
  const runner = newRunner()
  return {
    fake,
    github,
    runner,
    environment: options.environment,
    events,
    violations,
    stepEnv: { GITHUB_REPOSITORY: REPOSITORY, GITHUB_API_URL: github.apiUrl },
    stored,
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async close() {
      await Promise.all([fake.close(), github.close()])
      removeRunner(runner)
    }
  }
}

function hookPush<T>(array: T[], onPush: (item: T) => void): void {
  const push = array.push.bind(array)
  array.push = (...items: T[]) => {
    const length = push(...items)
    for (const item of items) onPush(item)
    return length
  }
}

function keyrollInputs(s: Setup, extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: s.fake.host,
    password: OLD,
    'ca-cert': s.fake.caCert,
    keyroll: 'true',
    'keyroll-timeout': '20s',
    'update-secret': NAME,
    ...(s.environment && { 'update-secret-environment': s.environment }),
    'github-token': TOKEN,
    ...extra
  }
}

/** The same inputs without update-secret and github-token. */
function withoutStore(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).filter(([name]) => name !== 'update-secret' && name !== 'github-token')
  )
}

function puts(fake: FakeConvox): RecordedRequest[] {
  return fake.requests.filter(r => r.method === 'PUT' && r.path === '/system')
}

/** The key a PUT /system carried: `parameters=Password%3D<key>`. */
function putKey(request: RecordedRequest): string | null {
  return new URLSearchParams(new URLSearchParams(request.body).get('parameters') ?? '').get('Password')
}

/** A real request: does any of these keys open the rack (GET /auth 200) within `withinMs`? */
async function opensRack(
  fake: FakeConvox,
  keys: readonly string[],
  withinMs: number
): Promise<string | undefined> {
  const deadline = Date.now() + withinMs
  const base = ConvoxApi.create(fake.host, OLD, { caCert: fake.caCert, insecure: false })
  try {
    for (;;) {
      for (const key of keys) {
        try {
          const answer = await base.withPassword(key).send({ method: 'GET', path: '/auth', timeoutMs: 2000 })
          if (answer.status === 200) return key
        } catch {
          // A cut connection in the window: try again.
        }
      }
      if (Date.now() > deadline) return undefined
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  } finally {
    base.close()
  }
}

function authFile(runner: Runner): Record<string, string> {
  return JSON.parse(fs.readFileSync(path.join(runner.home, '.convox', 'auth'), 'utf8')) as Record<
    string,
    string
  >
}

/** No key in any line but the masking ones, every key masked, nothing in the workspace; the token never printed. */
function expectNoLeaks(
  step: StepResult,
  runner: Runner,
  host: string,
  inputSecrets: readonly string[],
  made: readonly string[]
): void {
  expect(findLeaks(step, inputSecrets, { host, made })).toEqual([])
  expect(filesContaining(runner.workspace, [...inputSecrets, ...made, TOKEN])).toEqual([])
  for (const text of [step.stdout, step.stderr]) {
    const lines = text.split('\n').filter(line => !line.startsWith('::add-mask::'))
    expect(lines.filter(line => line.includes(TOKEN))).toEqual([])
  }
}

/** Lines that hold any form of these secrets, `::add-mask::` lines aside (a post step masks nothing). */
function printed(step: StepResult, secrets: readonly string[], host: string): string[] {
  const forms = secrets.flatMap(secret => secretForms(secret, host))
  return [step.stdout, step.stderr]
    .flatMap(text => text.split('\n'))
    .filter(line => !line.startsWith('::add-mask::') && forms.some(form => line.includes(form)))
}

function describeStep(step: StepResult): string {
  return `exit ${step.code} ${step.signal ?? ''}\n${step.stdout}\n${step.stderr}`
}

/** As the scheduled workflow would run next: a fresh job, the secrets GitHub holds now. */
async function rerun(
  s: Setup
): Promise<{ step: StepResult; runner: Runner; inputs: Record<string, string> }> {
  const { current, next } = s.stored()
  const runner = newRunner()
  try {
    const inputs = keyrollInputs(s, { password: current ?? '', 'password-next': next ?? '' })
    const step = await runStep(runner, inputs, { env: s.stepEnv })
    return { step, runner, inputs }
  } catch (error) {
    removeRunner(runner)
    throw error
  }
}

describe('keyroll through the action', () => {
  test.concurrent(
    'rolls the key, stores it in CONVOX_PASSWORD, and the post step restores the settings',
    async () => {
      const s = await setUp({ invariant: true })
      try {
        // A settings directory from an earlier login to another rack, which the post step must restore.
        const settingsDir = path.join(s.runner.home, '.convox')
        fs.mkdirSync(settingsDir)
        const before = { auth: '{\n  "other.example.com": "unrelated"\n}\n', host: 'other.example.com\n' }
        for (const [file, text] of Object.entries(before))
          fs.writeFileSync(path.join(settingsDir, file), text)
        const inputs = keyrollInputs(s)
        const step = await runStep(s.runner, inputs, { env: s.stepEnv })
        expect({ code: step.code, error: step.error }).toEqual({ code: 0, error: undefined })

        const newKey = s.fake.rack.password
        expect(newKey).toMatch(/^[A-Za-z0-9]{50}$/)
        expect(newKey).not.toBe(OLD)
        expect(s.fake.keyroll.newPassword).toBe(newKey)
        expect(s.fake.keyroll.puts).toBe(1)
        expect(puts(s.fake).map(putKey)).toEqual([newKey])

        expect(step.outputs.password).toBe(newKey)
        expect(step.outputs['keyroll-seconds']).toMatch(/^\d+$/)
        expect(step.outputs['old-key-revoked']).toBe('true')
        expect(step.env.CONVOX_PASSWORD).toBe(newKey)
        expect(step.env.RACK_URL).toBe(rackUrl(s.fake.host, newKey))
        expect(authFile(s.runner)[s.fake.host]).toBe(newKey)

        expect(s.github.secrets().get(NAME)).toBe(newKey)
        expect(s.github.secrets().has(NEXT)).toBe(false)

        // Who rolled it goes to the rack with every request, the PUT among them, and never to GitHub.
        expect(new Set(s.fake.requests.map(r => r.actor))).toEqual(new Set([REPOSITORY]))
        expect(s.github.requests.filter(r => 'x-convox-actor' in r.headers)).toEqual([])

        // NEXT before the rack heard of the key; CONVOX_PASSWORD once it is live; NEXT dropped last.
        const order = s.events.filter(e => !e.startsWith('rack GET') && e !== 'github public-key')
        expect(order).toEqual([
          `github put ${NEXT}`,
          'rack PUT /system',
          `github put ${NAME}`,
          `github delete ${NEXT}`
        ])
        const op = (kind: string, name: string) => s.github.ops.find(o => o.op === kind && o.name === name)!
        expect(op('put', NEXT).time).toBeLessThanOrEqual(s.fake.keyroll.putAt!)
        expect(op('put', NAME).time).toBeGreaterThanOrEqual(s.fake.keyroll.liveAt!)
        expect(op('delete', NEXT).time).toBeGreaterThanOrEqual(op('put', NAME).time)
        expect(s.violations).toEqual([])

        expect(step.summary).toMatch(/Keyroll/)
        expect(step.summary).toMatch(/rolled in \d+s/)
        expect(step.summary).toMatch(/Old key revoked/)
        expect(step.summary).not.toContain(newKey)
        expect(step.summary).not.toContain(OLD)

        expect(await opensRack(s.fake, [newKey], 0)).toBe(newKey)
        expect(await opensRack(s.fake, [OLD], 0)).toBeUndefined()
        expectNoLeaks(step, s.runner, s.fake.host, [OLD], [newKey])

        const post = await runStep(s.runner, inputs, { env: s.stepEnv, postOf: step })
        expect(post.code).toBe(0)
        expect(
          Object.fromEntries(
            fs.readdirSync(settingsDir).map(f => [f, fs.readFileSync(path.join(settingsDir, f), 'utf8')])
          )
        ).toEqual(before)
        expect(printed(post, [OLD, newKey, TOKEN], s.fake.host)).toEqual([])
        expect(filesContaining(s.runner.workspace, [OLD, newKey, TOKEN])).toEqual([])
      } finally {
        await s.close()
      }
    }
  )

  test.concurrent('without update-secret: the new key is in the password output', async () => {
    const s = await setUp()
    try {
      const inputs = withoutStore(keyrollInputs(s))
      const step = await runStep(s.runner, inputs, { env: s.stepEnv })
      expect({ code: step.code, error: step.error }).toEqual({ code: 0, error: undefined })
      const newKey = s.fake.rack.password
      expect(newKey).toMatch(/^[A-Za-z0-9]{50}$/)
      expect(step.outputs.password).toBe(newKey)
      expect(step.env.CONVOX_PASSWORD).toBe(newKey)
      expect(authFile(s.runner)[s.fake.host]).toBe(newKey)
      expect(step.stdout).toMatch(/::warning::keyroll without update-secret/)
      expect(s.github.requests).toEqual([])
      expectNoLeaks(step, s.runner, s.fake.host, [OLD], [newKey])
    } finally {
      await s.close()
    }
  })

  test.concurrent('without update-secret, a timeout says the key is in the password output', async () => {
    const s = await setUp({ convox: { keyrollWindow: [{ ms: Infinity, mode: '503' }] } })
    try {
      const inputs = withoutStore(keyrollInputs(s))
      const step = await runStep(s.runner, { ...inputs, 'keyroll-timeout': '2s' }, { env: s.stepEnv })
      expect(step.code).toBe(1)
      const newKey = s.fake.keyroll.newPassword!
      expect(newKey).toMatch(/^[A-Za-z0-9]{50}$/)
      expect(step.error).toMatch(/did not finish within 2s/)
      expect(step.error).toMatch(/masked password output/)
      expect(step.error).toMatch(/a later step must store it/)
      expect(step.stdout).toMatch(/::warning::The new key exists only in the password output of this step/)
      expect(step.outputs.password).toBe(newKey)
      expectNoLeaks(step, s.runner, s.fake.host, [OLD], [newKey])
    } finally {
      await s.close()
    }
  })

  test.concurrent('a timeout keeps both keys stored and sets the password output', async () => {
    const s = await setUp({ invariant: true, convox: { keyrollWindow: [{ ms: Infinity, mode: 'reject' }] } })
    try {
      const step = await runStep(s.runner, keyrollInputs(s, { 'keyroll-timeout': '2s' }), { env: s.stepEnv })
      expect(step.code).toBe(1)
      const newKey = s.fake.keyroll.newPassword!
      expect(step.error).toMatch(/did not finish within 2s/)
      expect(step.error).toMatch(
        /the new one in repository secret CONVOX_PASSWORD_NEXT of acme\/app, the old one in repository secret CONVOX_PASSWORD/
      )
      expect(step.error).toMatch(/run again with keyroll: true and password-next set to/)
      expect(step.outputs.password).toBe(newKey)
      // The login the step published before the roll is untouched: the old key, until the rack takes the new one.
      expect(step.env.CONVOX_PASSWORD).toBe(OLD)
      expect(s.stored()).toEqual({ current: OLD, next: newKey })
      expect(s.violations).toEqual([])
      expectNoLeaks(step, s.runner, s.fake.host, [OLD], [newKey])
    } finally {
      await s.close()
    }
  })

  test.concurrent('refuses a Console host: Roll API key in the Console web UI', async () => {
    const s = await setUp({ convox: { kind: 'console', users: [{ token: CONSOLE_TOKEN, id: 'user-1' }] } })
    try {
      const step = await runStep(s.runner, keyrollInputs(s, { password: CONSOLE_TOKEN }), { env: s.stepEnv })
      expect(step.code).toBe(1)
      // Refused before the login writes anything: a v3 rack behind Console needs rack (../rotation.test.ts).
      expect(step.error).toMatch(/keyroll: true on a Console login needs rack naming the rack to rotate/)
      // A refusal is a ConvoxError, said as its own sentence, not reported as a bug.
      expect(step.error).not.toMatch(/Unexpected error/)
      expect(step.error).toMatch(/"Roll API key" in the Console web UI/)
      expect(puts(s.fake)).toEqual([])
      expect(s.github.ops.filter(o => o.op !== 'public-key')).toEqual([])
      expect(s.github.secrets().get(NAME)).toBe(OLD)
      expect(step.outputs.password).toBeUndefined()
      expectNoLeaks(step, s.runner, s.fake.host, [CONSOLE_TOKEN], [])
    } finally {
      await s.close()
    }
  })

  test.concurrent('refuses a v3 rack', async () => {
    const s = await setUp({ convox: { rack: { password: OLD, version: '3.24.9' } } })
    try {
      const step = await runStep(s.runner, keyrollInputs(s), { env: s.stepEnv })
      expect(step.code).toBe(1)
      expect(step.error).toMatch(/v3 rack \(version 3\.24\.9\)/)
      expect(step.error).not.toMatch(/Unexpected error/)
      expect(step.error).toMatch(/Terraform/)
      expect(puts(s.fake)).toEqual([])
      expect(s.github.ops.filter(o => o.op !== 'public-key')).toEqual([])
      expect(s.github.secrets().get(NAME)).toBe(OLD)
      expect(s.fake.rack.password).toBe(OLD)
      expectNoLeaks(step, s.runner, s.fake.host, [OLD], [])
    } finally {
      await s.close()
    }
  })

  test.concurrent('a github-token that may not write secrets: nothing is sent to the rack', async () => {
    const s = await setUp()
    try {
      const step = await runStep(s.runner, keyrollInputs(s, { 'github-token': READ_ONLY_TOKEN }), {
        env: s.stepEnv
      })
      expect(step.code).toBe(1)
      expect(step.error).toMatch(
        /Could not save the new key to repository secret CONVOX_PASSWORD_NEXT of acme\/app/
      )
      expect(step.error).toMatch(/GitHub answered 403/)
      expect(step.error).not.toMatch(/Unexpected error/)
      expect(step.error).toMatch(/Secrets: read and write/)
      expect(step.error).toMatch(/the current key still works/)
      expect(puts(s.fake)).toEqual([])
      expect(s.fake.keyroll.puts).toBe(0)
      expect(s.fake.rack.password).toBe(OLD)
      expect(s.github.secrets().get(NAME)).toBe(OLD)
      expect(s.github.secrets().has(NEXT)).toBe(false)
      expect(await opensRack(s.fake, [OLD], 0)).toBe(OLD)
      expect(step.outputs.password).toBeUndefined()
      expect(findLeaks(step, [OLD], { host: s.fake.host })).toEqual([])
      for (const text of [step.stdout, step.stderr]) {
        const lines = text.split('\n').filter(line => !line.startsWith('::add-mask::'))
        expect(lines.filter(line => line.includes(READ_ONLY_TOKEN))).toEqual([])
      }
    } finally {
      await s.close()
    }
  })

  /**
   * A job killed at one point of the roll, then the next scheduled run with the secrets GitHub
   * holds: the rule holds throughout, and the next run finishes with one roll only.
   */
  async function killAndRecover(
    s: Setup,
    killAt: (kill: () => void) => StepOptions['onSpawn']
  ): Promise<{ killed: StepResult; recovered: StepResult; pending: string }> {
    const killed = await runStep(s.runner, keyrollInputs(s), {
      env: s.stepEnv,
      onSpawn: (child, stdout) => killAt(() => child.kill('SIGKILL'))?.(child, stdout)
    })
    expect(killed.signal).toBe('SIGKILL')
    const { current, next } = s.stored()
    expect(current).toBe(OLD)
    expect(next).toMatch(/^[A-Za-z0-9]{50}$/)
    const pending = next!
    // The key the rack uses or moves to is stored, and a real request with a stored key gets in.
    expect([current, next]).toContain(s.fake.rack.password)
    expectNoLeaks(killed, s.runner, s.fake.host, [OLD], [pending])

    const [opened, again] = await Promise.all([opensRack(s.fake, [OLD, pending], 5000), rerun(s)])
    const { step: recovered, runner } = again
    try {
      expect(opened).toBeDefined()
      expect({ code: recovered.code, error: recovered.error }).toEqual({ code: 0, error: undefined })
      const live = s.fake.rack.password
      expect(s.github.secrets(s.environment).get(NAME)).toBe(live)
      expect(s.github.secrets(s.environment).has(NEXT)).toBe(false)
      expect(recovered.outputs.password).toBe(live)
      expect(recovered.env.CONVOX_PASSWORD).toBe(live)
      expect(authFile(runner)[s.fake.host]).toBe(live)
      expect(await opensRack(s.fake, [live], 0)).toBe(live)
      // One roll in flight at most: the rack heard one PUT, and applied it once.
      expect(puts(s.fake)).toHaveLength(1)
      expect(s.fake.keyroll.puts).toBe(1)
      expect(s.violations).toEqual([])
      expectNoLeaks(recovered, runner, s.fake.host, [OLD, pending], live === pending ? [] : [live])
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- re-run:\n${describeStep(recovered)}`)
    } finally {
      removeRunner(runner)
    }
    return { killed, recovered, pending }
  }

  test.concurrent(
    'killed right after the pending key is stored: the next run drops it and rolls',
    async () => {
      const s = await setUp({ invariant: true })
      try {
        const { recovered, pending } = await killAndRecover(s, kill => () => {
          const off = s.onEvent(event => {
            if (event === `github put ${NEXT}`) {
              off()
              kill()
            }
          })
        })
        // Killed before the answer reached the job: the rack never heard of the pending key.
        expect(puts(s.fake).map(putKey)).not.toContain(pending)
        expect(s.fake.rack.password).not.toBe(pending)
        expect(recovered.stdout).toMatch(/the earlier keyroll never took effect/)
        expect(recovered.summary).toMatch(/rolled in \d+s/)
      } finally {
        await s.close()
      }
    }
  )

  test.concurrent(
    'killed right after the PUT reached the rack: the next run finishes that roll',
    async () => {
      const s = await setUp({ invariant: true, environment: 'production' })
      try {
        const { recovered, pending } = await killAndRecover(s, kill => () => {
          const off = s.onEvent(event => {
            if (event === 'rack PUT /system') {
              off()
              kill()
            }
          })
        })
        expect(s.fake.rack.password).toBe(pending)
        expect(recovered.summary).toMatch(/finished an earlier roll/)
        expect(s.github.secrets().size).toBe(0)
      } finally {
        await s.close()
      }
    }
  )

  test.concurrent('killed in the middle of the window: the next run waits for it and finishes', async () => {
    const window: WindowPhase[] = [
      { ms: 800, mode: '503' },
      { ms: 800, mode: 'flap' },
      { ms: 800, mode: 'reject' }
    ]
    const s = await setUp({ invariant: true, convox: { keyrollWindow: window } })
    try {
      let statusAtKill = ''
      const { recovered, pending } = await killAndRecover(s, kill => () => {
        const off = s.onEvent(event => {
          if (event === 'rack PUT /system') {
            off()
            setTimeout(() => {
              statusAtKill = s.fake.rack.status
              kill()
            }, 1000)
          }
        })
      })
      // Killed inside the window: the rack was updating, and may have refused either key.
      expect(statusAtKill).toBe('updating')
      expect(s.fake.rack.password).toBe(pending)
      expect(recovered.summary).toMatch(/finished an earlier roll/)
    } finally {
      await s.close()
    }
  })

  test.concurrent(
    'the rack took password-next but saving it fails: the job keeps a login that works',
    async () => {
      const PENDING = 'PendingKey0123456789abcdefghijklmnopqrstuvwxyzABCD'
      const s = await setUp({ invariant: true, convox: { rack: { password: PENDING } } })
      try {
        s.github.secrets().set(NEXT, PENDING)
        s.github.fail(
          { status: 403, body: JSON.stringify({ message: 'Resource not accessible' }) },
          { method: 'PUT' }
        )
        const step = await runStep(s.runner, keyrollInputs(s, { 'password-next': PENDING }), {
          env: s.stepEnv
        })
        expect(step.code).toBe(1)
        expect(step.stdout).toMatch(/The rack refuses password; trying password-next/)
        expect(step.error).toMatch(
          /The rack now uses the new key, but saving it to repository secret CONVOX_PASSWORD/
        )
        expect(step.error).toMatch(/password-next/)
        expect(step.outputs.password).toBe(PENDING)
        // What later steps get is the key that works, not the refused one.
        expect(step.env.CONVOX_PASSWORD).toBe(PENDING)
        expect(step.env.RACK_URL).toBe(rackUrl(s.fake.host, PENDING))
        expect(authFile(s.runner)[s.fake.host]).toBe(PENDING)
        expect(s.stored()).toEqual({ current: OLD, next: PENDING })
        expect(puts(s.fake)).toEqual([])
        expect(s.violations).toEqual([])
        expectNoLeaks(step, s.runner, s.fake.host, [OLD, PENDING], [])
      } finally {
        await s.close()
      }
    }
  )
})
