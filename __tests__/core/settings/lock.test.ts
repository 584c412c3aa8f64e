import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import { hostname } from 'node:os'
import os from 'node:os'
import path from 'node:path'
import { LOCK_FILE, withSettingsLock } from '../../../src/core/settings/lock.ts'

/** The settings lock, in one process: who may take it, when a holder is taken for dead, and the sentence when it cannot be had. */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-lock-test-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshDir = () => {
  const dir = path.join(root, `case-${++counter}`)
  fs.mkdirSync(dir)
  return dir
}
const exists = () => true
const quick = { staleMs: 30_000, waitMs: 300, pollMs: 10 }

describe('withSettingsLock', () => {
  it('holds a lock file while fn runs and removes it after, also when fn throws', () => {
    const dir = freshDir()
    const lock = path.join(dir, LOCK_FILE)
    expect(withSettingsLock(dir, exists, () => fs.readFileSync(lock, 'utf8'))).toMatch(
      new RegExp(`^${process.pid} ${hostname()} [0-9a-f]{16}$`)
    )
    expect(fs.existsSync(lock)).toBe(false)
    expect(() =>
      withSettingsLock(dir, exists, () => {
        throw new Error('boom')
      })
    ).toThrow('boom')
    expect(fs.existsSync(lock)).toBe(false)
  })

  it('a live holder: waits, then one sentence naming the lock and what to do; the lock stays', () => {
    const dir = freshDir()
    const lock = path.join(dir, LOCK_FILE)
    fs.writeFileSync(lock, `${process.pid} ${hostname()} othertoken`)
    const start = Date.now()
    let ran = false
    expect(() => withSettingsLock(dir, exists, () => (ran = true), quick)).toThrow(
      new RegExp(
        `^Could not lock the Convox settings in ${dir}: ${lock} has been held by another job for 0s\\. ` +
          `If no other job on this runner is logging in to Convox, delete ${lock} and run again\\.$`
      )
    )
    expect(Date.now() - start).toBeGreaterThanOrEqual(300)
    expect(ran).toBe(false)
    expect(fs.readFileSync(lock, 'utf8')).toBe(`${process.pid} ${hostname()} othertoken`)
  })

  it("a lock older than staleMs is a crashed holder's: broken, and taken", () => {
    const dir = freshDir()
    const lock = path.join(dir, LOCK_FILE)
    fs.writeFileSync(lock, `1 another-machine token`)
    const old = new Date(Date.now() - 31_000)
    fs.utimesSync(lock, old, old)
    expect(withSettingsLock(dir, exists, () => 'ran', quick)).toBe('ran')
    expect(fs.existsSync(lock)).toBe(false)
  })

  it('a fresh lock of a process on this machine that is gone: broken at once', () => {
    const dir = freshDir()
    const lock = path.join(dir, LOCK_FILE)
    // Past the kernel's pid_max: no process can have it.
    fs.writeFileSync(lock, `99999999 ${hostname()} token`)
    const start = Date.now()
    expect(withSettingsLock(dir, exists, () => 'ran', quick)).toBe('ran')
    expect(Date.now() - start).toBeLessThan(300)
  })

  it("a fresh lock of another machine's process is not judged by pid", () => {
    const dir = freshDir()
    fs.writeFileSync(path.join(dir, LOCK_FILE), `99999999 another-machine token`)
    expect(() => withSettingsLock(dir, exists, () => 'ran', quick)).toThrow(/Could not lock/)
  })

  it('a directory that vanished is prepared again; one that is gone for good runs nothing', () => {
    const dir = path.join(root, `vanishing-${++counter}`)
    let prepared = 0
    const prepare = () => {
      if (prepared++ > 0) fs.mkdirSync(dir)
      return true
    }
    expect(withSettingsLock(dir, prepare, () => 'ran', quick)).toBe('ran')
    expect(prepared).toBe(2)
    expect(
      withSettingsLock(
        path.join(root, 'gone'),
        () => false,
        () => 'ran',
        quick
      )
    ).toBeUndefined()
  })
})
