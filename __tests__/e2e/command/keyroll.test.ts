import { afterAll, describe, expect, test } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox, RecordedRequest, WindowPhase } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { FakeGitLab } from '../../../test-support/fake-gitlab.ts'
import { startFakeGitLab } from '../../../test-support/fake-gitlab.ts'
import { startFakeGitHub } from '../../../test-support/fake-github.ts'
import type { CliResult, Machine } from '../../../test-support/run-cli.ts'
import { cliLeaks, evalInBash, KEY_LINES, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { mode } from '../../../test-support/settings-dir.ts'

/**
 * convox-login keyroll end to end, with each store: a GitLab project's CI/CD variables (a fake of
 * GitLab's API that checks the token, the masked and protected flags and the scope), GitHub
 * Actions secrets, and a file the caller stores. The rack's keyroll window runs in real time, so
 * the scenarios run concurrently, each with its own fakes.
 */

const OLD = 'OldRackKey0123456789abcdefGHIJKLmnop'
const GITLAB_TOKEN = 'glpat-WriteToken0123456789abc'
const READ_ONLY_TOKEN = 'glpat-DeveloperToken987654321'
const GITHUB_TOKEN = 'github_pat_11WriteToken0123456789abcdef'
const NAME = 'CONVOX_PASSWORD'
const NEXT = `${NAME}_NEXT`
const WINDOW: WindowPhase[] = [
  { ms: 500, mode: '503' },
  { ms: 500, mode: 'flap' }
]

const machines = machinePool()
afterAll(() => machines.removeAll())

async function rackFake(password = OLD): Promise<FakeConvox> {
  return startFakeConvox({ kind: 'rack', rack: { password }, keyrollWindow: WINDOW })
}

/** Calls `onPut` as the rack records each PUT /system, before it applies it. */
function onPut(fake: FakeConvox, listener: (request: RecordedRequest) => void): void {
  const push = fake.requests.push.bind(fake.requests)
  fake.requests.push = (...items: RecordedRequest[]) => {
    for (const item of items) if (item.method === 'PUT' && item.path === '/system') listener(item)
    return push(...items)
  }
}

function gitlabEnv(gitlab: FakeGitLab, token = GITLAB_TOKEN): Record<string, string> {
  return {
    GITLAB_CI: 'true',
    CI_JOB_TOKEN: 'job-token-not-for-variables',
    GITLAB_TOKEN: token,
    CI_PROJECT_ID: gitlab.projectId,
    CI_API_V4_URL: gitlab.apiUrl,
    CONVOX_PASSWORD: OLD
  }
}

function expectNoLeaks(result: CliResult, host: string, keys: string[], tokens: string[]): void {
  expect(cliLeaks(result, [...keys, ...tokens], { host, allowed: KEY_LINES.sh })).toEqual([])
}

const keyroll = (fake: FakeConvox, ...extra: string[]) => [
  'keyroll',
  '--host',
  fake.host,
  '--timeout',
  '20s',
  ...extra
]

describe('keyroll with a GitLab CI/CD variable', () => {
  test.concurrent(
    'makes NAME_NEXT masked and protected before the rack is asked, then updates NAME in place',
    async () => {
      const [fake, gitlab] = await Promise.all([rackFake(), startFakeGitLab({ tokens: [GITLAB_TOKEN] })])
      try {
        gitlab.set({
          key: NAME,
          value: OLD,
          masked: true,
          protected: true,
          raw: true,
          description: 'the rack key'
        })
        const atPut: Array<string | undefined> = []
        onPut(fake, () => atPut.push(gitlab.get(NEXT)?.value))
        const m = machines.fresh()
        const result = await runCli(m, keyroll(fake, '--gitlab-variable', NAME), { env: gitlabEnv(gitlab) })
        expect(result.stderr).toContain('Keyroll done')
        expect(result.code).toBe(0)

        const newKey = fake.rack.password
        expect(newKey).toMatch(/^[A-Za-z0-9]{50}$/)
        // The pending key was stored, with NAME's flags, before the rack saw the PUT.
        expect(atPut).toEqual([newKey])
        const created = gitlab.ops.find(op => op.op === 'create')!
        expect(created.variable).toMatchObject({
          key: NEXT,
          masked: true,
          protected: true,
          raw: true,
          hidden: false,
          environment_scope: '*'
        })
        expect(created.time).toBeLessThanOrEqual(fake.keyroll.putAt!)
        expect(gitlab.ops.map(op => `${op.op} ${op.key}`)).toEqual([
          `create ${NEXT}`,
          `update ${NAME}`,
          `delete ${NEXT}`
        ])
        expect(gitlab.variables).toEqual([
          {
            key: NAME,
            value: newKey,
            variable_type: 'env_var',
            masked: true,
            protected: true,
            hidden: false,
            raw: true,
            environment_scope: '*',
            description: 'the rack key'
          }
        ])
        expect(gitlab.requests.every(r => r.token === GITLAB_TOKEN)).toBe(true)
        expect((await evalInBash(result.stdout, ['CONVOX_PASSWORD'])).CONVOX_PASSWORD).toBe(newKey)
        expectNoLeaks(result, fake.host, [OLD, newKey], [GITLAB_TOKEN])
      } finally {
        await Promise.all([fake.close(), gitlab.close()])
      }
    }
  )

  test.concurrent('keeps a hidden variable hidden, and writes in its environment scope only', async () => {
    const [fake, gitlab] = await Promise.all([rackFake(), startFakeGitLab({ tokens: [GITLAB_TOKEN] })])
    try {
      gitlab.set({ key: NAME, value: OLD, masked: true, hidden: true, environment_scope: 'production' })
      gitlab.set({ key: 'OTHER', value: 'unrelated-value', environment_scope: 'production' })
      const result = await runCli(machines.fresh(), keyroll(fake, '--gitlab-variable', NAME), {
        env: gitlabEnv(gitlab)
      })
      expect(result.code).toBe(0)
      const newKey = fake.rack.password
      expect(gitlab.ops.find(op => op.op === 'create')!.variable).toMatchObject({
        key: NEXT,
        masked: true,
        hidden: true,
        environment_scope: 'production'
      })
      expect(gitlab.get(NAME, 'production')).toMatchObject({ value: newKey, masked: true, hidden: true })
      expect(gitlab.get(NEXT)).toBeUndefined()
      expect(gitlab.get('OTHER')?.value).toBe('unrelated-value')
      expectNoLeaks(result, fake.host, [OLD, newKey], [GITLAB_TOKEN])
    } finally {
      await Promise.all([fake.close(), gitlab.close()])
    }
  })

  test.concurrent(
    'a token that may not write variables: refused before the rack is touched, exit 1',
    async () => {
      const [fake, gitlab] = await Promise.all([
        rackFake(),
        startFakeGitLab({ tokens: [GITLAB_TOKEN], readOnlyTokens: [READ_ONLY_TOKEN] })
      ])
      try {
        gitlab.set({ key: NAME, value: OLD, masked: true })
        const result = await runCli(machines.fresh(), keyroll(fake, '--gitlab-variable', NAME), {
          env: gitlabEnv(gitlab, READ_ONLY_TOKEN)
        })
        expect(result.code).toBe(1)
        expect(result.stderr).toContain('GitLab answered 403')
        expect(result.stderr).toContain('api scope and the Maintainer role')
        expect(fake.keyroll.puts).toBe(0)
        expect(fake.rack.password).toBe(OLD)
        expectNoLeaks(result, fake.host, [OLD], [READ_ONLY_TOKEN])
      } finally {
        await Promise.all([fake.close(), gitlab.close()])
      }
    }
  )

  test.concurrent(
    'a variable that does not exist: says to create it, and leaves the rack alone',
    async () => {
      const [fake, gitlab] = await Promise.all([rackFake(), startFakeGitLab({ tokens: [GITLAB_TOKEN] })])
      try {
        const result = await runCli(machines.fresh(), keyroll(fake, '--gitlab-variable', NAME), {
          env: gitlabEnv(gitlab)
        })
        expect(result.code).toBe(1)
        expect(result.stderr).toContain(`has no CI/CD variable ${NAME}`)
        expect(fake.keyroll.puts).toBe(0)
        expect(gitlab.variables).toEqual([])
      } finally {
        await Promise.all([fake.close(), gitlab.close()])
      }
    }
  )
  test.concurrent(
    'one variable per environment scope: says which to keep, and leaves the rack alone',
    async () => {
      const [fake, gitlab] = await Promise.all([rackFake(), startFakeGitLab({ tokens: [GITLAB_TOKEN] })])
      try {
        gitlab.set({ key: NAME, value: OLD, masked: true, environment_scope: 'production' })
        gitlab.set({ key: NAME, value: 'StagingKey0123456789', masked: true, environment_scope: 'staging' })
        const result = await runCli(machines.fresh(), keyroll(fake, '--gitlab-variable', NAME), {
          env: gitlabEnv(gitlab)
        })
        expect(result.code).toBe(1)
        expect(result.stderr).toContain(`has several variables ${NAME}, one per environment scope`)
        expect(fake.keyroll.puts).toBe(0)
        expect(gitlab.ops).toEqual([])
      } finally {
        await Promise.all([fake.close(), gitlab.close()])
      }
    }
  )
})

describe('keyroll with GitHub Actions secrets, outside GitHub', () => {
  test.concurrent('stores the new key in the repository secret through GITHUB_TOKEN', async () => {
    const [fake, github] = await Promise.all([rackFake(), startFakeGitHub({ tokens: [GITHUB_TOKEN] })])
    try {
      github.secrets().set(NAME, OLD)
      const result = await runCli(
        machines.fresh(),
        keyroll(fake, '--github-secret', NAME, '--github-repo', 'acme/app'),
        { env: { CONVOX_PASSWORD: OLD, GITHUB_TOKEN, GITHUB_API_URL: github.apiUrl } }
      )
      expect(result.code).toBe(0)
      const newKey = fake.rack.password
      expect(newKey).not.toBe(OLD)
      expect(github.secrets().get(NAME)).toBe(newKey)
      expect(github.secrets().has(NEXT)).toBe(false)
      expectNoLeaks(result, fake.host, [OLD, newKey], [GITHUB_TOKEN])
    } finally {
      await Promise.all([fake.close(), github.close()])
    }
  })
})

describe('keyroll with --next-password-file', () => {
  test.concurrent(
    'writes the new key (0600) before the rack is asked, and says the caller must store it',
    async () => {
      const fake = await rackFake()
      try {
        const m: Machine = machines.fresh()
        const file = path.join(m.work, 'next-key')
        const atPut: Array<string | undefined> = []
        onPut(fake, () => atPut.push(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined))
        const result = await runCli(m, keyroll(fake, '--next-password-file', file), {
          env: { CONVOX_PASSWORD: OLD }
        })
        expect(result.code).toBe(0)
        const newKey = fake.rack.password
        expect(atPut).toEqual([newKey])
        expect(fs.readFileSync(file, 'utf8')).toBe(newKey)
        expect(mode(file)).toBe(0o600)
        expect(result.stderr).toContain(`which is only in ${file}: store it`)
        expectNoLeaks(result, fake.host, [OLD, newKey], [])
      } finally {
        await fake.close()
      }
    }
  )

  test.concurrent(
    'finishes an earlier roll whose pending key is in the file, without a second PUT',
    async () => {
      const pending = 'PendingKeyFromEarlierRoll0123456789abcdefABCDEFGHI'
      // The earlier roll went through: the rack uses the pending key, the CI still holds the old one.
      const fake = await rackFake(pending)
      try {
        const m = machines.fresh()
        const file = path.join(m.work, 'next-key')
        fs.writeFileSync(file, `${pending}\n`, { mode: 0o600 })
        const result = await runCli(m, keyroll(fake, '--next-password-file', file), {
          env: { CONVOX_PASSWORD: OLD }
        })
        expect(result.stderr).toContain('finishing the earlier keyroll')
        expect(result.code).toBe(0)
        expect(fake.keyroll.puts).toBe(0)
        expect(fs.readFileSync(file, 'utf8')).toBe(pending)
        expect((await evalInBash(result.stdout, ['CONVOX_PASSWORD'])).CONVOX_PASSWORD).toBe(pending)
        expectNoLeaks(result, fake.host, [OLD, pending], [])
      } finally {
        await fake.close()
      }
    }
  )

  test.concurrent(
    'a rack that refuses the roll: the file is removed, since its key was never used',
    async () => {
      const fake = await rackFake()
      try {
        fake.fail({ status: 400, body: '{"error":"invalid parameter"}' }, { path: '/system', method: 'PUT' })
        const m = machines.fresh()
        const file = path.join(m.work, 'next-key')
        const written: boolean[] = []
        onPut(fake, () => written.push(fs.existsSync(file)))
        const result = await runCli(m, keyroll(fake, '--next-password-file', file), {
          env: { CONVOX_PASSWORD: OLD }
        })
        expect(result.stderr).toContain('The rack refused the keyroll')
        expect(result.code).toBe(1)
        expect(written).toEqual([true])
        expect(fake.rack.password).toBe(OLD)
        expect(fs.existsSync(file)).toBe(false)
        expectNoLeaks(result, fake.host, [OLD], [])
      } finally {
        await fake.close()
      }
    }
  )
})
