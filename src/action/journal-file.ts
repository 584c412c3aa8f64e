import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { Journal } from '../convox/settings.ts'
import { writeAtomic } from '../convox/settings.ts'

/**
 * The undo journal holds the previous content of the files this step changed (possibly another
 * host's key), so it lives outside the workspace, under RUNNER_TEMP, in a 0700 directory as a
 * 0600 file, and is deleted by the post step.
 */
export function saveJournal(journal: Journal, existingPath: string): string {
  const file =
    existingPath ||
    join(mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'convox-login-')), 'journal.json')
  chmodSync(dirname(file), 0o700)
  writeAtomic(file, JSON.stringify(journal))
  return file
}

export function loadJournal(file: string): Journal {
  const text = readFileSync(file, 'utf8')
  try {
    return JSON.parse(text) as Journal
  } catch {
    // Not V8's message: it quotes the text around the error, and the journal holds other hosts' keys.
    throw new Error(`the journal ${file} is not valid JSON`)
  }
}

export function deleteJournal(file: string): void {
  // The directory only when it is one saveJournal made; the state names it, but costs nothing to check.
  const dir = dirname(file)
  const ours = basename(dir).startsWith('convox-login-') && basename(file) === 'journal.json'
  rmSync(ours ? dir : file, { recursive: ours, force: true })
}
