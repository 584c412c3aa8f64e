import { closeSync, lstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ConvoxError } from '../errors.ts'
import type { HeldRetry } from './held-file.ts'
import { DEFAULT_HELD_RETRY, sleepSync, whileHeld } from './held-file.ts'

/**
 * One job at a time in a settings directory. Two jobs that share a HOME (several runner services
 * on one machine, a matrix on a self-hosted runner) would otherwise read the same `auth`, each
 * add its own host, and the later rename would drop the other's entry.
 *
 * The lock is a file in the settings directory created with O_EXCL, which the file system grants
 * to one process only. It holds `<pid> <hostname> <token>`: the token lets a
 * holder remove only its own lock, the pid and host let a waiter on the same machine see that the
 * holder died. A lock older than `staleMs` is taken for a crashed holder's on any machine: a holder
 * keeps it for a few milliseconds (a handful of small files read and renamed).
 *
 * Synchronous, waiting with Atomics.wait: the read-merge-write it guards is synchronous, and an
 * asynchronous lock would let this process's own timers run inside the critical section for
 * nothing; a wait is milliseconds unless a holder crashed, and then at most `waitMs`.
 */

export const LOCK_FILE = '.convox-login.lock'

export interface LockTiming {
  /** A lock this old belongs to a holder that crashed. */
  staleMs: number
  /** How long to wait for the lock before giving up; longer than staleMs, so a crashed holder's lock is broken first. */
  waitMs: number
  /** Between two tries; a random part keeps waiters from trying in step. */
  pollMs: number
  /** How long Windows' "another program holds it" is waited out on the lock file itself (held-file.ts). */
  held?: HeldRetry
}

export const DEFAULT_LOCK_TIMING: LockTiming = { staleMs: 30_000, waitMs: 40_000, pollMs: 20 }

/**
 * Runs `fn` holding the lock of `dir`. `prepare` makes sure the directory exists, and is called
 * again if it vanished meanwhile (another job's post step removed it, empty, between the two); when
 * it returns false there is no directory to lock, and nothing to do: `fn` is not run.
 */
export function withSettingsLock<T>(
  dir: string,
  prepare: () => boolean,
  fn: () => T,
  timing: LockTiming = DEFAULT_LOCK_TIMING
): T | undefined {
  const lock = join(dir, LOCK_FILE)
  const token = `${process.pid} ${hostname()} ${randomBytes(8).toString('hex')}`
  const start = Date.now()
  for (;;) {
    if (!prepare()) return undefined
    const outcome = tryCreate(lock, token, timing.held ?? DEFAULT_HELD_RETRY)
    if (outcome === 'held') break
    if (outcome === 'busy' && breakIfStale(lock, timing.staleMs)) continue
    if (Date.now() - start >= timing.waitMs) {
      throw new ConvoxError(
        `Could not lock the Convox settings in ${dir}: ${lock} has been held by another job for ` +
          `${Math.round((Date.now() - start) / 1000)}s. If no other job on this runner is logging in to Convox, delete ${lock} and run again.`
      )
    }
    if (outcome === 'busy') sleepSync(timing.pollMs + Math.floor(Math.random() * timing.pollMs))
  }
  try {
    return fn()
  } finally {
    release(lock, token, timing.held ?? DEFAULT_HELD_RETRY)
  }
}

/** `vanished` when the directory itself is gone: prepare it again and retry at once. */
function tryCreate(lock: string, token: string, held: HeldRetry): 'held' | 'busy' | 'vanished' {
  let fd: number
  try {
    // On Windows the name of a lock still being deleted (a waiter had it open to read) cannot be taken for a moment.
    fd = whileHeld('create', lock, () => openSync(lock, 'wx', 0o600), held)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return 'busy'
    if (code === 'ENOENT') return 'vanished'
    throw error
  }
  try {
    writeSync(fd, token)
  } finally {
    closeSync(fd)
  }
  return 'held'
}

/** Removes a lock whose holder is gone; true when it did (or the lock went meanwhile). */
function breakIfStale(lock: string, staleMs: number): boolean {
  const stat = lstatSync(lock, { throwIfNoEntry: false })
  if (stat === undefined) return true
  let holder = ''
  try {
    holder = readFileSync(lock, 'utf8')
  } catch {
    return false
  }
  // An empty lock (its holder is writing its token) reads as a live holder's until it is stale.
  const [pid, host] = holder.split(' ')
  const dead = host === hostname() && Number(pid) > 0 && !isAlive(Number(pid))
  if (!dead && Date.now() - stat.mtimeMs < staleMs) return false
  // Only the lock we judged: if another waiter broke it and a new holder took it since, it is not ours to remove.
  const again = lstatSync(lock, { throwIfNoEntry: false })
  if (again && (again.ino !== stat.ino || again.mtimeMs !== stat.mtimeMs)) return false
  try {
    rmSync(lock, { force: true })
  } catch {
    return false
  }
  return true
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function release(lock: string, token: string, held: HeldRetry): void {
  try {
    if (readFileSync(lock, 'utf8') === token)
      whileHeld('remove', lock, () => rmSync(lock, { force: true }), held)
  } catch {
    // Gone already: broken as stale by a waiter after this holder overran staleMs.
  }
}
