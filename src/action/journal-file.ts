import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeCrypto } from '../builtins.ts'
import type { Journal } from '../convox/settings.ts'
import { writeAtomic } from '../convox/settings.ts'

/**
 * The undo journal holds the previous content of the files this step changed (possibly another
 * host's key), so it lives outside the workspace, under RUNNER_TEMP, as a 0600 file, and is
 * deleted by the post step.
 */
export function saveJournal(journal: Journal, existingPath: string): string {
  const text = JSON.stringify(journal)
  if (existingPath) {
    writeAtomic(existingPath, text)
    return existingPath
  }
  // A new name, created exclusively: nothing else's file or link is written through.
  const name = `convox-login-${nodeCrypto().randomBytes(6).toString('hex')}.json`
  const file = join(process.env.RUNNER_TEMP || tmpdir(), name)
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' })
  chmodSync(file, 0o600) // as writeAtomic: an inherited ACL may have widened the mode
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
