import { isAbsolute, resolve, sep } from 'node:path'
import { parseJson } from '../http/json.ts'
import { KEYED_FILES, PLAIN_FILES } from './files.ts'

/**
 * The undo journal: what a login changed in the settings directory (settings.ts writes it),
 * enough for the post step or `convox-login logout` to undo exactly that, and nothing else. The
 * adapters keep it between steps (src/action/journal-file.ts, src/cli/state-file.ts).
 */

/** The journal's `afterSha256` for a file this step removed. */
export const ABSENT = 'absent'

/** What one change did: the previous value (null when absent) and a hash of what was written. */
export interface JournalEntry {
  file: string
  key?: string
  before: string | null
  /** The file did not exist before this step, so undoing its last entry removes it. */
  created: boolean
  /** A keyed file's whole text before this change, put back as it was when undoing restores its entries. */
  fileBefore?: string
  /** The file's mode before this step, when it was not the 0600 every write leaves: undoing puts it back. */
  modeBefore?: number
  afterSha256: string
}

export interface Journal {
  dir: string
  /** Directories this step created, outermost first. */
  createdDirs: string[]
  entries: JournalEntry[]
}

export function newJournal(dir: string): Journal {
  return { dir, createdDirs: [], entries: [] }
}

/**
 * A journal read back from its file, or undefined when the text is not one. Checked field by
 * field: undoing writes into `dir`, so entries may name only the settings files, and the
 * directories to remove only `dir` and its parents.
 */
export function parseJournal(text: string): Journal | undefined {
  return asJournal(parseJson(text))
}

/** `value` as a journal, checked as parseJournal checks it; undefined when it is not one. */
export function asJournal(value: unknown): Journal | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { dir, createdDirs, entries } = value as Record<string, unknown>
  if (typeof dir !== 'string' || !isAbsolute(dir) || resolve(dir) !== dir) return undefined
  const isParent = (d: unknown) =>
    typeof d === 'string' && (d === dir || (isAbsolute(d) && dir.startsWith(d.endsWith(sep) ? d : d + sep)))
  if (!Array.isArray(createdDirs) || !createdDirs.every(isParent)) return undefined
  const files: readonly string[] = [...KEYED_FILES, ...PLAIN_FILES]
  const optional = (v: unknown, type: string) => v === undefined || typeof v === type
  const isEntry = (e: unknown): boolean => {
    if (typeof e !== 'object' || e === null) return false
    const { file, key, before, created, fileBefore, modeBefore, afterSha256 } = e as Record<string, unknown>
    return (
      typeof file === 'string' &&
      files.includes(file) &&
      optional(key, 'string') &&
      (before === null || typeof before === 'string') &&
      typeof created === 'boolean' &&
      optional(fileBefore, 'string') &&
      (modeBefore === undefined ||
        (Number.isInteger(modeBefore) && (modeBefore as number) >= 0 && (modeBefore as number) <= 0o777)) &&
      typeof afterSha256 === 'string'
    )
  }
  if (!Array.isArray(entries) || !entries.every(isEntry)) return undefined
  return { dir, createdDirs: createdDirs as string[], entries: entries as JournalEntry[] }
}

/** Adds `entry`, or updates the one for the same file and key, keeping its value from before the first change. */
export function record(journal: Journal, entry: JournalEntry): void {
  const existing = journal.entries.find(e => e.file === entry.file && e.key === entry.key)
  if (existing)
    existing.afterSha256 = entry.afterSha256 // keep the value from before this step's first change
  else journal.entries.push(entry)
}

/** The journal as it will be once `attempt` is applied. */
export function merged(journal: Journal, attempt: Journal): Journal {
  const result: Journal = {
    dir: journal.dir,
    createdDirs: [
      ...journal.createdDirs,
      ...attempt.createdDirs.filter(d => !journal.createdDirs.includes(d))
    ],
    entries: journal.entries.map(e => ({ ...e }))
  }
  for (const entry of attempt.entries) record(result, { ...entry })
  return result
}
