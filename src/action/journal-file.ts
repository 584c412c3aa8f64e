import { lstatSync, readFileSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Journal } from '../core/settings/journal.ts'
import { parseJournal } from '../core/settings/journal.ts'
import { writeAtomic } from '../core/settings/files.ts'
import { ConvoxError } from '../core/errors.ts'

/**
 * The undo journal holds the previous content of the files this step changed (possibly another
 * host's key), so it lives outside the workspace, under RUNNER_TEMP, as a 0600 file, and is
 * deleted by the post step.
 */

const NAME = /^convox-login-[0-9a-f]{12}\.json$/

export function journalDir(): string {
  return (process.env.RUNNER_TEMP ?? '').trim()
}

/**
 * Checked before anything is done: without RUNNER_TEMP the record has no place the runner empties
 * after the job (a shared temp directory would keep other hosts' keys), so the step writes nothing.
 */
export function checkJournalDir(): void {
  if (journalDir()) return
  throw new ConvoxError(
    'RUNNER_TEMP is not set, so the undo record the post step needs to remove the key has nowhere to go; ' +
      'nothing was written. Run on a GitHub Actions runner (it sets RUNNER_TEMP), or set logout: false to keep the settings after the job.'
  )
}

export function saveJournal(journal: Journal, existingPath: string): string {
  const file = existingPath || join(journalDir(), `convox-login-${randomBytes(6).toString('hex')}.json`)
  writeAtomic(file, JSON.stringify(journal))
  return file
}

/**
 * Reads the journal at `file` only if it is provably one of ours: named as saveJournal names them,
 * directly under the journal directory, a regular file, holding a journal. A post step handed any
 * other path (a state file edited, a link planted in RUNNER_TEMP) neither follows nor deletes it.
 */
export function loadJournal(file: string): Journal {
  if (!journalDir() || resolve(dirname(file)) !== resolve(journalDir()) || !NAME.test(basename(file))) {
    throw new Error(
      `${file} is not an undo journal of convox-login (not one under ${journalDir()}); left alone`
    )
  }
  const stat = lstatSync(file)
  if (!stat.isFile()) throw new Error(`${file} is not a regular file; left alone`)
  const journal = parseJournal(readFileSync(file, 'utf8'))
  // Not the parser's words: they would quote the text, and a journal holds other hosts' keys.
  if (!journal) throw new Error(`${file} does not hold an undo journal of convox-login; left alone`)
  return journal
}

export function deleteJournal(file: string): void {
  rmSync(file, { force: true })
}
