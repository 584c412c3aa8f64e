import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Windows refuses to rename over, or remove, a file another program holds open (EPERM, EACCES,
 * EBUSY), which Linux never does: node:fs's rename is wrapped so that it fails like Windows a
 * chosen number of times, and the settings' atomic write must wait it out within its bound, or say
 * in one sentence what holds the file, leaving the old content and no temporary file behind.
 */

const real = await import('node:fs')
let renameFailures = 0
let renameCalls = 0
let failWith = 'EPERM'
const held = (from: string, to: string) =>
  Object.assign(new Error(`${failWith}: operation not permitted, rename '${from}' -> '${to}'`), {
    code: failWith,
    path: from,
    dest: to
  })
/** Creating the lock file fails like Windows while a previous holder's lock is being deleted. */
let lockCreateFailures = 0
let lockCreateCalls = 0
jest.unstable_mockModule('node:fs', () => ({
  ...real,
  openSync: (file: string, ...rest: unknown[]) => {
    if (String(file).endsWith('.convox-login.lock') && rest[0] === 'wx') {
      lockCreateCalls++
      if (lockCreateFailures > 0) {
        lockCreateFailures--
        throw Object.assign(new Error(`EPERM: operation not permitted, open '${file}'`), {
          code: 'EPERM',
          path: file
        })
      }
    }
    return (real.openSync as (...args: unknown[]) => number)(file, ...rest)
  },
  renameSync: (from: string, to: string) => {
    renameCalls++
    if (renameFailures > 0) {
      renameFailures--
      throw held(from, to)
    }
    return real.renameSync(from, to)
  }
}))
const { heldWaits, isHeldOpen, whileHeld } = await import('../../../src/core/settings/held-file.ts')
const { writeAtomic } = await import('../../../src/core/settings/files.ts')
const { LOCK_FILE, withSettingsLock } = await import('../../../src/core/settings/lock.ts')

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-held-file-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const heldError = (code: string) => Object.assign(new Error(code), { code })

describe('isHeldOpen', () => {
  it.each([
    ['EPERM', 'win32', true],
    ['EACCES', 'win32', true],
    ['EBUSY', 'win32', true],
    ['ENOENT', 'win32', false],
    ['EEXIST', 'win32', false],
    [undefined, 'win32', false],
    ['EPERM', 'linux', false],
    ['EACCES', 'darwin', false],
    ['EBUSY', 'linux', false]
  ] as const)('%s on %s: %s', (code, platform, expected) => {
    expect(isHeldOpen(code, platform)).toBe(expected)
  })
})

describe('heldWaits', () => {
  it('doubles from 10 ms up to 500 ms and stops exactly at the budget', () => {
    expect(heldWaits(5_000)).toEqual([10, 20, 40, 80, 160, 320, 500, 500, 500, 500, 500, 500, 500, 500, 370])
    expect(heldWaits(100)).toEqual([10, 20, 40, 30])
    expect(heldWaits(0)).toEqual([])
  })
})

describe('whileHeld', () => {
  const failing = (times: number, code = 'EPERM') => {
    let left = times
    const calls = { count: 0 }
    const call = () => {
      calls.count++
      if (left-- > 0) throw heldError(code)
      return 'done'
    }
    return { call, calls }
  }

  it('on Windows, tries again after each wait until the handle is gone', () => {
    const slept: number[] = []
    const { call, calls } = failing(3, 'EBUSY')
    expect(
      whileHeld('replace', 'C:\\x\\auth', call, {
        platform: 'win32',
        budgetMs: 5_000,
        sleep: ms => slept.push(ms)
      })
    ).toBe('done')
    expect(calls.count).toBe(4)
    expect(slept).toEqual([10, 20, 40])
  })

  it('on Windows, gives up after the budget with one sentence naming the file and what to do', () => {
    const slept: number[] = []
    const { call, calls } = failing(Infinity)
    expect(() =>
      whileHeld('replace', 'C:\\x\\auth', call, {
        platform: 'win32',
        budgetMs: 100,
        sleep: ms => slept.push(ms)
      })
    ).toThrow(
      /^Could not replace C:\\x\\auth: Windows refused it 5 times over 0\.1s \(EPERM\), so another program holds it open \(a Convox CLI still running in another job, a virus scanner, an indexer\) or it is read-only: stop that program or clear the read-only attribute, and run again\.$/
    )
    expect(slept).toEqual([10, 20, 40, 30])
    expect(calls.count).toBe(5)
  })

  it.each(['linux', 'darwin'] as const)(
    'on %s, EPERM is a real refusal: thrown at once, as it is',
    platform => {
      const { call, calls } = failing(1)
      const sleep = jest.fn<(ms: number) => void>()
      expect(() => whileHeld('remove', '/x/auth', call, { platform, budgetMs: 5_000, sleep })).toThrow(
        /^EPERM$/
      )
      expect(calls.count).toBe(1)
      expect(sleep).not.toHaveBeenCalled()
    }
  )

  it('on Windows, any other failure is thrown at once', () => {
    const { call, calls } = failing(1, 'ENOENT')
    expect(() =>
      whileHeld('remove', 'C:\\x\\auth', call, { platform: 'win32', budgetMs: 5_000, sleep: () => {} })
    ).toThrow(/^ENOENT$/)
    expect(calls.count).toBe(1)
  })
})

describe('writeAtomic over a file Windows says is held open', () => {
  let counter = 0
  let file: string
  beforeEach(() => {
    file = path.join(root, `case-${++counter}`, 'auth')
    fs.mkdirSync(path.dirname(file))
    fs.writeFileSync(file, 'old', { mode: 0o600 })
    renameCalls = 0
    failWith = 'EPERM'
  })
  const leftovers = () => fs.readdirSync(path.dirname(file)).filter(name => name !== 'auth')

  it('waits for the handle to go, then replaces the file', () => {
    renameFailures = 3
    failWith = 'EBUSY'
    const slept: number[] = []
    writeAtomic(file, 'new', { platform: 'win32', budgetMs: 5_000, sleep: ms => slept.push(ms) })
    expect(fs.readFileSync(file, 'utf8')).toBe('new')
    expect(renameCalls).toBe(4)
    expect(slept).toEqual([10, 20, 40])
    expect(leftovers()).toEqual([])
  })

  it('still held after the bound: one sentence, the old content kept, no temporary file left', () => {
    renameFailures = Infinity
    expect(() => writeAtomic(file, 'new', { platform: 'win32', budgetMs: 50, sleep: () => {} })).toThrow(
      new RegExp(
        `^Could not replace ${file.replace(/[\\/.]/g, '\\$&')}: Windows refused it 4 times over 0\\.05s \\(EPERM\\)`
      )
    )
    renameFailures = 0
    expect(fs.readFileSync(file, 'utf8')).toBe('old')
    expect(leftovers()).toEqual([])
  })

  it('on Linux the same EPERM fails at once, with the system error', () => {
    renameFailures = 1
    expect(() => writeAtomic(file, 'new', { platform: 'linux', budgetMs: 5_000, sleep: () => {} })).toThrow(
      /^EPERM: operation not permitted, rename/
    )
    expect(renameCalls).toBe(1)
    expect(fs.readFileSync(file, 'utf8')).toBe('old')
    expect(leftovers()).toEqual([])
  })
})

describe('the settings lock where Windows cannot yet create its file', () => {
  const timing = (platform: NodeJS.Platform, slept: number[]) => ({
    staleMs: 30_000,
    waitMs: 1_000,
    pollMs: 10,
    held: { platform, budgetMs: 100, sleep: (ms: number) => void slept.push(ms) }
  })
  let counter = 0
  const freshDir = () => {
    const dir = path.join(root, `lock-${++counter}`)
    fs.mkdirSync(dir)
    lockCreateCalls = 0
    return dir
  }

  it('on Windows, waits for the old lock to go, then holds it and runs', () => {
    const dir = freshDir()
    lockCreateFailures = 2
    const slept: number[] = []
    expect(
      withSettingsLock(
        dir,
        () => true,
        () => 'ran',
        timing('win32', slept)
      )
    ).toBe('ran')
    expect(lockCreateCalls).toBe(3)
    expect(slept).toEqual([10, 20])
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false)
  })

  it('on Windows, still refused after the bound: one sentence naming the lock file, and fn does not run', () => {
    const dir = freshDir()
    lockCreateFailures = Infinity
    let ran = false
    expect(() =>
      withSettingsLock(
        dir,
        () => true,
        () => (ran = true),
        timing('win32', [])
      )
    ).toThrow(`Could not create ${path.join(dir, LOCK_FILE)}: Windows refused it 5 times over 0.1s (EPERM)`)
    lockCreateFailures = 0
    expect(ran).toBe(false)
  })

  it('on Linux, EPERM creating the lock is a real refusal, thrown at once', () => {
    const dir = freshDir()
    lockCreateFailures = 1
    const slept: number[] = []
    expect(() =>
      withSettingsLock(
        dir,
        () => true,
        () => 'ran',
        timing('linux', slept)
      )
    ).toThrow(/^EPERM: operation not permitted/)
    expect(lockCreateCalls).toBe(1)
    expect(slept).toEqual([])
    lockCreateFailures = 0
  })
})
