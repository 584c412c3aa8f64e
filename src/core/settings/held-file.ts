import { ConvoxError } from '../errors.ts'

/**
 * Replacing or removing a file that another program holds open. On Linux and macOS a rename over
 * an open file, or an unlink of one, simply succeeds. On Windows it fails while the other handle
 * lives: a Go program (the Convox CLI of another job reading `auth`) opens files without
 * FILE_SHARE_DELETE, and a virus scanner or the search indexer opens a file just written for a
 * few milliseconds; libuv reports that as EPERM, EACCES or EBUSY. The same codes cover creating
 * the lock file while the previous holder's lock is still being deleted. Those handles close on
 * their own, so the call is tried again for a short, bounded while, and then one sentence says
 * what holds the file.
 */

/** The codes Windows gives for a file another handle holds; on other systems they mean a real refusal. */
const HELD_CODES: ReadonlySet<string> = new Set(['EPERM', 'EACCES', 'EBUSY'])

/** Whether a failed call may only be waiting for another program's handle to close. */
export function isHeldOpen(code: string | undefined, platform: NodeJS.Platform): boolean {
  return platform === 'win32' && code !== undefined && HELD_CODES.has(code)
}

/**
 * The waits between tries: doubling from `firstMs`, each at most `maxMs`, until they add up to
 * `budgetMs`. A scanner lets go within milliseconds, a CLI reading a small file within a few more.
 */
export function heldWaits(budgetMs: number, firstMs = 10, maxMs = 500): number[] {
  const waits: number[] = []
  let total = 0
  for (let wait = firstMs; total < budgetMs; wait = Math.min(wait * 2, maxMs)) {
    const next = Math.min(wait, budgetMs - total)
    waits.push(next)
    total += next
  }
  return waits
}

export interface HeldRetry {
  platform: NodeJS.Platform
  /** How long all the waits add up to at most. */
  budgetMs: number
  /** A synchronous sleep: the settings are written synchronously, under their lock. */
  sleep: (ms: number) => void
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))
/** Blocks the thread for `ms`: for the synchronous settings code, which must not yield inside its lock. */
export const sleepSync = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms)

export const DEFAULT_HELD_RETRY: HeldRetry = { platform: process.platform, budgetMs: 5_000, sleep: sleepSync }

/**
 * Runs `call` on `file`, trying again while Windows says another program holds the file, and
 * throws one sentence if it still does after `retry.budgetMs`. Every other failure is thrown as it is.
 */
export function whileHeld<T>(
  doing: 'replace' | 'remove' | 'create',
  file: string,
  call: () => T,
  retry: HeldRetry = DEFAULT_HELD_RETRY
): T {
  const waits = heldWaits(retry.budgetMs)
  for (let attempt = 0; ; attempt++) {
    try {
      return call()
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (!isHeldOpen(code, retry.platform)) throw error
      const wait = waits[attempt]
      if (wait === undefined) throw stillHeld(doing, file, code!, attempt + 1, retry.budgetMs)
      retry.sleep(wait)
    }
  }
}

function stillHeld(doing: string, file: string, code: string, tries: number, budgetMs: number): ConvoxError {
  return new ConvoxError(
    `Could not ${doing} ${file}: Windows refused it ${tries} times over ${budgetMs / 1000}s (${code}), so another ` +
      'program holds it open (a Convox CLI still running in another job, a virus scanner, an indexer) or it is read-only: ' +
      'stop that program or clear the read-only attribute, and run again.'
  )
}
