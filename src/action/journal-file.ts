import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Journal } from '../core/settings.ts'
import { writeAtomic } from '../core/settings.ts'

/**
 * The undo journal holds the previous content of the files this step changed (possibly another
 * host's key), so it lives outside the workspace, under RUNNER_TEMP, as a 0600 file, and is
 * deleted by the post step.
 */
export function saveJournal(journal: Journal, existingPath: string): string {
  const file =
    existingPath ||
    join(process.env.RUNNER_TEMP || tmpdir(), `convox-login-${randomBytes(6).toString('hex')}.json`)
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
  rmSync(file, { force: true })
}
