import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import {
  filesContaining,
  findLeaks,
  runnerPool,
  runStepTrustingInputs
} from '../../../test-support/run-action.ts'
import { makeUnwritable } from '../../../test-support/disk.ts'
import { mode, read } from '../../../test-support/settings-dir.ts'

/**
 * The post step end to end: it undoes exactly what its main step wrote, keeps what later steps
 * wrote, keeps its journal out of the workspace and deletes it, and never fails the job.
 */

const RACK_KEY = 'RackKeyPostStepAbCdEfGhIjKl'
const ODD_KEY = 'k3y+with/odd=chars&more'
const TOKEN = 'CliTokenPostStep0123456789abcdef'

const step = runStepTrustingInputs

/** Type and content of everything under dir (modes aside: restored files keep 0600); 'absent' when missing. */
function contents(dir: string): Record<string, string> | 'absent' {
  if (!fs.existsSync(dir)) return 'absent'
  const result: Record<string, string> = {}
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name)
    const rel = path.relative(dir, file)
    if (entry.isSymbolicLink()) result[rel] = `link -> ${fs.readlinkSync(file)}`
    else if (entry.isDirectory()) result[rel] = 'dir'
    else result[rel] = fs.readFileSync(file, 'utf8')
  }
  return result
}

const settingsDir = (runner: Runner) => path.join(runner.home, '.convox')

/** Another login's settings, partly as the Go CLI writes them, partly by hand (compact JSON, newlines). */
function seedOtherLogin(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "x\\u0026y"\n}', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'racks'), '{"other.example.com":"acme/old"}\n', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'host'), 'other.example.com\n', { mode: 0o644 })
  fs.writeFileSync(path.join(dir, 'console'), 'other.example.com', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'rack'), 'acme/old', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'id'), 'user-old', { mode: 0o600 })
}

/**
 * The leak rule for a main step (masks first, nothing else holds a secret) and for a post step,
 * which masks nothing itself: the runner keeps main's masks for the whole job, so there the rule
 * is only that no line holds any form of a secret.
 */
function expectNoLeaks(result: StepResult, runner: Runner, secrets: string[], host: string, post = false) {
  const leaks = findLeaks(result, secrets, { host })
  expect(post ? leaks.filter(l => !l.startsWith('no ::add-mask:: line')) : leaks).toEqual([])
  expect(filesContaining(runner.workspace, secrets)).toEqual([])
  for (const form of secrets.flatMap(s => secretForms(s, host))) expect(result.summary).not.toContain(form)
}

/** The main step's journal: a 0600 file of its own under RUNNER_TEMP. */
function expectJournalInRunnerTemp(main: StepResult, runner: Runner): string {
  const journal = main.state.journal!
  expect(journal).toBeTruthy()
  expect(path.dirname(journal)).toBe(runner.temp)
  expect(path.basename(journal)).toMatch(/^convox-login-[0-9a-f]{12}\.json$/)
  expect(mode(journal)).toBe(0o600)
  return journal
}

function expectQuietPost(post: StepResult): void {
  expect(post.code).toBe(0)
  expect(post.stdout).not.toMatch(/^::(warning|error)::/m)
  expect(post.env).toEqual({})
  expect(post.outputs).toEqual({})
}

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

/** A fresh runner whose settings directory already holds another login, and what it held then. */
function runnerWithOtherLogin(): { runner: Runner; dir: string; before: ReturnType<typeof contents> } {
  const runner = fresh()
  const dir = settingsDir(runner)
  seedOtherLogin(dir)
  return { runner, dir, before: contents(dir) }
}

describe('post step', () => {
  let rack: FakeConvox
  let oddRack: FakeConvox
  let console_: FakeConvox
  beforeAll(async () => {
    ;[rack, oddRack, console_] = await Promise.all([
      startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } }),
      startFakeConvox({ kind: 'rack', rack: { password: ODD_KEY, name: 'odd' } }),
      startFakeConvox({
        kind: 'console',
        users: [{ token: TOKEN, id: 'user-post-1' }],
        racks: [{ org: 'acme', name: 'production' }]
      })
    ])
  })
  afterAll(async () => {
    await Promise.all([rack.close(), oddRack.close(), console_.close()])
  })

  const rackInputs = () => ({ host: rack.host, password: RACK_KEY, 'ca-cert': rack.caCert })
  const consoleInputs = () => ({
    host: console_.host,
    password: TOKEN,
    rack: 'acme/production',
    'ca-cert': console_.caCert
  })

  it.concurrent('removes what it created, the directory too, and deletes its journal', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    const main = await step(runner, rackInputs())
    expect(main.error).toBeUndefined()
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'console', 'host'])
    const journal = expectJournalInRunnerTemp(main, runner)
    // The journal records hashes of what was written, never this step's key.
    expect(filesContaining(runner.temp, [RACK_KEY])).toEqual([])
    expect(fs.readdirSync(runner.workspace)).toEqual([])
    expectNoLeaks(main, runner, [RACK_KEY], rack.host)

    const post = await step(runner, rackInputs(), { postOf: main })
    expectQuietPost(post)
    expect(post.stdout).toContain(`Restored the Convox settings in ${dir}`)
    expect(fs.existsSync(dir)).toBe(false)
    expect(fs.existsSync(journal)).toBe(false)
    expect(fs.readdirSync(runner.temp)).toEqual([])
    expect(fs.readdirSync(runner.home)).toEqual([])
    expectNoLeaks(post, runner, [RACK_KEY], rack.host, true)
  })

  it.concurrent('removes a config-dir and the parents it created, and nothing above them', async () => {
    const runner = fresh()
    const dir = path.join(runner.root, 'settings', 'nested', 'convox')
    const inputs = { ...rackInputs(), 'config-dir': dir }
    const main = await step(runner, inputs)
    expect(main.error).toBeUndefined()
    const post = await step(runner, inputs, { postOf: main })
    expectQuietPost(post)
    expect(fs.existsSync(path.join(runner.root, 'settings'))).toBe(false)
    expect(fs.existsSync(runner.root)).toBe(true)
  })

  it.concurrent('restores an existing directory byte for byte, however its files were written', async () => {
    const { runner, dir, before } = runnerWithOtherLogin()
    const main = await step(runner, consoleInputs())
    expect(main.error).toBeUndefined()
    expect(read(dir, 'racks')).toBe(
      `{\n  "${console_.host}": "acme/production",\n  "other.example.com": "acme/old"\n}`
    )
    expect(read(dir, 'id')).toBe('user-post-1')
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'console', 'current', 'host', 'id', 'rack', 'racks'])
    // The journal holds the previous values (another host's key): it must stay out of the workspace.
    expectJournalInRunnerTemp(main, runner)
    expect(filesContaining(runner.workspace, ['x&y'])).toEqual([])

    const post = await step(runner, consoleInputs(), { postOf: main })
    expectQuietPost(post)
    expect(contents(dir)).toEqual(before)
    expect(fs.readdirSync(runner.temp)).toEqual([])
    expectNoLeaks(main, runner, [TOKEN], console_.host)
    expectNoLeaks(post, runner, [TOKEN], console_.host, true)
  })

  it.concurrent("keeps what a later step wrote: another host's entry and a changed file", async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    const main = await step(runner, consoleInputs())
    expect(main.error).toBeUndefined()
    // A later step logs into another host by hand and points the CLI at another rack.
    const auth = JSON.parse(read(dir, 'auth')) as Record<string, string>
    fs.writeFileSync(
      path.join(dir, 'auth'),
      JSON.stringify({ ...auth, 'later.example.com': 'LaterStepKey' }, null, 2)
    )
    fs.writeFileSync(path.join(dir, 'rack'), 'acme/staging')

    const post = await step(runner, consoleInputs(), { postOf: main })
    expect(post.code).toBe(0)
    expect(post.stdout).not.toMatch(/^::(warning|error)::/m)
    expect(post.stdout).toContain(`${path.join(dir, 'rack')} was changed after this step; left as it is.`)
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'rack'])
    expect(read(dir, 'auth')).toBe('{\n  "later.example.com": "LaterStepKey"\n}')
    expect(read(dir, 'rack')).toBe('acme/staging')
    expect(fs.readdirSync(runner.temp)).toEqual([])
    expectNoLeaks(post, runner, [TOKEN], console_.host, true)
  })

  it.concurrent('logout: false: no journal, and the post step changes nothing', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    const inputs = { ...rackInputs(), logout: 'false' }
    const main = await step(runner, inputs)
    expect(main.error).toBeUndefined()
    expect(main.state.journal).toBeUndefined()
    expect(fs.readdirSync(runner.temp)).toEqual([])
    const after = contents(dir)
    expect(after).not.toBe('absent')

    const post = await step(runner, inputs, { postOf: main })
    expectQuietPost(post)
    expect(post.stdout).toContain('Nothing to undo')
    expect(contents(dir)).toEqual(after)
    expectNoLeaks(post, runner, [RACK_KEY], rack.host, true)
  })

  it.concurrent('puts back the rack file a Rack login removed, as convox login does', async () => {
    const { runner, dir, before } = runnerWithOtherLogin()
    const main = await step(runner, rackInputs())
    expect(main.error).toBeUndefined()
    expect(fs.existsSync(path.join(dir, 'rack'))).toBe(false)
    const post = await step(runner, rackInputs(), { postOf: main })
    expectQuietPost(post)
    expect(contents(dir)).toEqual(before)
  })

  it.concurrent('leaves a rack file that a later step wrote after the login removed it', async () => {
    const { runner, dir } = runnerWithOtherLogin()
    const main = await step(runner, rackInputs())
    fs.writeFileSync(path.join(dir, 'rack'), 'acme/later')
    const post = await step(runner, rackInputs(), { postOf: main })
    expectQuietPost(post)
    expect(read(dir, 'rack')).toBe('acme/later')
  })

  it.concurrent('after a failed main step, the post step has nothing to undo', async () => {
    const { runner, dir, before } = runnerWithOtherLogin()
    const inputs = { ...rackInputs(), password: 'WrongKeyForThisRackXyz' }
    const main = await step(runner, inputs)
    expect(main.code).toBe(1)
    const post = await step(runner, inputs, { postOf: main })
    expectQuietPost(post)
    expect(post.stdout).toContain('Nothing to undo')
    expect(contents(dir)).toEqual(before)
  })

  it.concurrent(
    'a corrupted journal is a warning, exit 0, and is left alone: it cannot be proven ours',
    async () => {
      const runner = fresh()
      const main = await step(runner, rackInputs())
      expect(main.error).toBeUndefined()
      const journal = main.state.journal!
      fs.writeFileSync(journal, '{"dir": "/", "entries": [tru')
      const settings = contents(settingsDir(runner))

      const post = await step(runner, rackInputs(), { postOf: main })
      expect(post.code).toBe(0)
      expect(post.error).toBeUndefined()
      expect(post.stdout).toContain(
        `::warning::Could not undo the Convox login: ${journal} does not hold an undo journal of convox-login; left alone`
      )
      expect(fs.readdirSync(runner.temp)).toEqual([path.basename(journal)])
      expect(contents(settingsDir(runner))).toEqual(settings)
      expectNoLeaks(post, runner, [RACK_KEY], rack.host, true)
    }
  )

  it.concurrent('the warning for a corrupted journal quotes none of the keys it holds', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    const previous = 'PreviousKeyOfThisHost9876'
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(path.join(dir, 'auth'), `{\n  "${rack.host}": "${previous}"\n}`, { mode: 0o600 })
    const main = await step(runner, rackInputs())
    expect(main.error).toBeUndefined()
    const journal = main.state.journal!
    const text = fs.readFileSync(journal, 'utf8')
    expect(text).toContain(`"before":"${previous}"`)
    // Damage right before the stored key: V8's own message would quote the text around it.
    fs.writeFileSync(journal, text.replace(`"before":"${previous}"`, `"before":x"${previous}"`))

    const post = await step(runner, rackInputs(), { postOf: main })
    expect(post.code).toBe(0)
    expect(post.stdout).toMatch(
      /^::warning::Could not undo the Convox login: .*does not hold an undo journal/m
    )
    const fragments = Array.from({ length: previous.length - 5 }, (_, i) => previous.slice(i, i + 6))
    for (const fragment of fragments) expect(post.stdout + post.stderr).not.toContain(fragment)
  })

  it.concurrent(
    'a journal it cannot delete is a warning, exit 0; the settings are still restored',
    async () => {
      const runner = fresh()
      const main = await step(runner, rackInputs())
      expect(main.error).toBeUndefined()
      const restore = makeUnwritable(runner.temp)
      try {
        const post = await step(runner, rackInputs(), { postOf: main })
        expect(post.code).toBe(0)
        expect(post.error).toBeUndefined()
        expect(post.stdout).toContain(`Restored the Convox settings in ${settingsDir(runner)}`)
        expect(post.stdout).toContain(`::warning::Could not delete the undo journal ${main.state.journal}: `)
        expect(fs.existsSync(settingsDir(runner))).toBe(false)
      } finally {
        restore()
      }
    }
  )

  it.concurrent.each([
    ['outside RUNNER_TEMP', (r: Runner, name: string) => path.join(r.root, name)],
    ['not named as its journals are', (r: Runner) => path.join(r.temp, 'settings-backup.json')],
    ['a symbolic link', (r: Runner, name: string) => path.join(r.temp, `link-${name}`)]
  ])('a journal path %s is neither undone nor deleted', async (what, place) => {
    const runner = fresh()
    const main = await step(runner, rackInputs())
    expect(main.error).toBeUndefined()
    const journal = main.state.journal!
    let planted = place(runner, path.basename(journal))
    if (what === 'a symbolic link') {
      planted = path.join(runner.temp, 'convox-login-0123456789ab.json')
      fs.symlinkSync(journal, planted)
    } else fs.copyFileSync(journal, planted)
    const settings = contents(settingsDir(runner))

    const post = await step(runner, rackInputs(), {
      postOf: { ...main, state: { ...main.state, journal: planted } }
    })
    expect(post.code).toBe(0)
    expect(post.stdout).toMatch(/^::warning::Could not undo the Convox login: .*left alone$/m)
    expect(fs.existsSync(planted)).toBe(true)
    expect(contents(settingsDir(runner))).toEqual(settings)
  })

  it.concurrent(
    'without state from a main step (it never ran), the post step does nothing and says so',
    async () => {
      const runner = fresh()
      const fake = await startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } })
      try {
        // The same inputs a runner gives a post step: a bundle that told post from main by state would log in.
        const post = await step(
          runner,
          { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert },
          { post: true }
        )
        expectQuietPost(post)
        expect(post.stdout).toContain(
          'Nothing to undo: the main step did not run, or was stopped before it began.'
        )
        expect(post.state).toEqual({})
        expect(fake.requests).toEqual([])
        expect(fs.readdirSync(runner.home)).toEqual([])
        expect(fs.readdirSync(runner.temp)).toEqual([])
      } finally {
        await fake.close()
      }
    }
  )

  it.concurrent('a missing journal is a warning, exit 0', async () => {
    const runner = fresh()
    const main = await step(runner, rackInputs())
    expect(main.error).toBeUndefined()
    fs.rmSync(path.dirname(main.state.journal!), { recursive: true })
    const post = await step(runner, rackInputs(), { postOf: main })
    expect(post.code).toBe(0)
    expect(post.stdout).toMatch(/^::warning::Could not undo the Convox login: /m)
  })

  it.concurrent('a file it cannot restore is a warning; the others are still restored', async () => {
    const { runner, dir, before } = runnerWithOtherLogin()
    const main = await step(runner, rackInputs())
    expect(main.error).toBeUndefined()
    // A later step replaces host with a directory: it cannot be restored.
    fs.rmSync(path.join(dir, 'host'))
    fs.mkdirSync(path.join(dir, 'host'))

    const post = await step(runner, rackInputs(), { postOf: main })
    expect(post.code).toBe(0)
    expect(post.error).toBeUndefined()
    expect(post.stdout).toMatch(/^::warning::Could not restore .*host: .*not a regular file/m)
    expect(contents(dir)).toEqual({ ...(before as Record<string, string>), host: 'dir' })
    expect(fs.readdirSync(runner.temp)).toEqual([])
    expectNoLeaks(post, runner, [RACK_KEY], rack.host, true)
  })

  it.concurrent('a key with characters that URL-encode: restored, and never printed', async () => {
    const { runner, dir, before } = runnerWithOtherLogin()
    const inputs = { host: oddRack.host, password: ODD_KEY, 'ca-cert': oddRack.caCert }
    const main = await step(runner, inputs)
    expect(main.error).toBeUndefined()
    expectNoLeaks(main, runner, [ODD_KEY], oddRack.host)
    const post = await step(runner, inputs, { postOf: main })
    expectQuietPost(post)
    expect(contents(dir)).toEqual(before)
    expectNoLeaks(post, runner, [ODD_KEY], oddRack.host, true)
  })

  it.each(['absent', 'existing'])(
    'two logins into one directory (Rack, then Console), undone in reverse order (directory %s)',
    async state => {
      const runner = fresh()
      const dir = settingsDir(runner)
      if (state === 'existing') seedOtherLogin(dir)
      const original = contents(dir)

      const mainA = await step(runner, rackInputs())
      expect(mainA.error).toBeUndefined()
      const afterA = contents(dir)
      const mainB = await step(runner, consoleInputs())
      expect(mainB.error).toBeUndefined()
      // The Console login clears the RACK_URL that the Rack login exported.
      expect(mainB.env.RACK_URL).toBe('')
      expect(read(dir, 'host')).toBe(console_.host)
      expect(JSON.parse(read(dir, 'auth'))).toMatchObject({ [rack.host]: RACK_KEY, [console_.host]: TOKEN })
      expect(mainA.state.journal).not.toBe(mainB.state.journal)

      const postB = await step(runner, consoleInputs(), { postOf: mainB })
      expectQuietPost(postB)
      expect(contents(dir)).toEqual(afterA)
      const postA = await step(runner, rackInputs(), { postOf: mainA })
      expectQuietPost(postA)
      expect(contents(dir)).toEqual(original)
      expect(fs.readdirSync(runner.temp)).toEqual([])

      for (const [result, secret, host] of [
        [mainA, RACK_KEY, rack.host],
        [mainB, TOKEN, console_.host]
      ] as const) {
        expectNoLeaks(result, runner, [secret], host)
      }
      for (const post of [postA, postB]) {
        expectNoLeaks(post, runner, [RACK_KEY], rack.host, true)
        expectNoLeaks(post, runner, [TOKEN], console_.host, true)
      }
    }
  )

  it.concurrent('the post step sends no request', async () => {
    const runner = fresh()
    const fake = await startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } })
    try {
      const inputs = { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert }
      const main = await step(runner, inputs)
      expect(main.error).toBeUndefined()
      const sent = fake.requests.length
      const post = await step(runner, inputs, { postOf: main })
      expectQuietPost(post)
      expect(fake.requests).toHaveLength(sent)
    } finally {
      await fake.close()
    }
  })
})
