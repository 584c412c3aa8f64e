import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { hash, randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { ConvoxError } from './errors.ts'
import { parseJson } from './json.ts'
import type { Log } from './log.ts'

/**
 * The CLI settings directory (convox-facts.md section 1): plain files hold one value, keyed files
 * a JSON object of string to string. Every change is recorded in a Journal so the post step can
 * undo exactly what was done, and nothing else.
 */

/** Files that hold a JSON object keyed by host. */
export const KEYED_FILES = ['auth', 'racks'] as const
export type KeyedFile = (typeof KEYED_FILES)[number]
export type PlainFile = 'host' | 'console' | 'id' | 'rack' | 'current'

/** A plain file's `value: null` removes it, as `convox login` removes `rack`. */
export type Edit = { file: PlainFile; value: string | null } | { file: KeyedFile; key: string; value: string }

/** The journal's `afterSha256` for a file this step removed. */
const ABSENT = 'absent'

/** What one change did: the previous value (null when absent) and a hash of what was written. */
export interface JournalEntry {
  file: string
  key?: string
  before: string | null
  /** The file did not exist before this step, so undoing its last entry removes it. */
  created: boolean
  /** A keyed file's whole text before this change, put back as it was when undoing restores its entries. */
  fileBefore?: string
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

const sha256 = (text: string) => hash('sha256', text)

/**
 * Go's json.MarshalIndent of a map[string]string, which the CLIs write: keys sorted, two-space
 * indent, <, > and & escaped. Matching it keeps other hosts' entries byte for byte.
 */
export function formatKeyed(object: Record<string, string>): string {
  // Written out by hand: a JS object lists integer-like keys ("9" before "10") first whatever the
  // order they were added in, and Go sorts by UTF-8 bytes, not UTF-16 code units.
  const entries = Object.entries(object).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const lines = entries.map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`)
  return (lines.length ? `{\n${lines.join(',\n')}\n}` : '{}')
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Reads a file we may write, refusing anything but a regular file. Undefined when absent. */
function readRegular(file: string): string | undefined {
  // Not a thrown ENOENT: a login checks ten absent files, and each exception costs a stack trace.
  const stat = lstatSync(file, { throwIfNoEntry: false })
  if (stat === undefined) return undefined
  if (stat.isSymbolicLink()) {
    throw new ConvoxError(
      `${file} is a symbolic link; refusing to write credentials through it: remove the link and run again.`
    )
  }
  if (!stat.isFile())
    throw new ConvoxError(`${file} is not a regular file: remove it or choose another config-dir.`)
  return readFileSync(file, 'utf8')
}

function parseKeyed(file: string, text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === '') return {}
  const value = parseJson(text)
  if (
    !value ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    !Object.values(value).every(v => typeof v === 'string')
  ) {
    throw new ConvoxError(
      `${file} is not a JSON object of strings, so the Convox CLI cannot read it either: fix or delete it, or use another config-dir; nothing was changed.`
    )
  }
  return value as Record<string, string>
}

/** Checks the files we would merge into before anything is sent or written. */
export function checkSettings(dir: string): void {
  for (const name of KEYED_FILES) parseKeyed(join(dir, name), readRegular(join(dir, name)))
  for (const name of ['host', 'console', 'id', 'rack', 'current']) readRegular(join(dir, name))
}

/** Temporary file then rename: a reader never sees half a file, and the mode is 0600 from the start. */
export function writeAtomic(file: string, content: string): void {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' })
    chmodSync(temp, 0o600) // the umask may have narrowed nothing, but an inherited ACL may have widened it
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

function ensureDir(dir: string, journal: Journal): void {
  const missing: string[] = []
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d)
  for (const d of missing) {
    mkdirSync(d, { mode: 0o700 })
    chmodSync(d, 0o700)
    journal.createdDirs.push(d)
  }
  if (!statSync(dir).isDirectory())
    throw new ConvoxError(`config-dir ${dir} is not a directory: choose another config-dir.`)
}

/** The value an edit leaves in its file, given the file's current text. */
function applyEdit(
  current: string | undefined,
  edit: Edit,
  value: string
): { text: string; before: string | null } {
  if ('key' in edit) {
    const object = parseKeyed(edit.file, current)
    const before = Object.hasOwn(object, edit.key) ? object[edit.key]! : null
    return { text: formatKeyed({ ...object, [edit.key]: value }), before }
  }
  return { text: value, before: current ?? null }
}

function record(journal: Journal, entry: JournalEntry): void {
  const existing = journal.entries.find(e => e.file === entry.file && e.key === entry.key)
  if (existing)
    existing.afterSha256 = entry.afterSha256 // keep the value from before this step's first change
  else journal.entries.push(entry)
}

/**
 * Applies the edits, recording each in the journal, and returns the files it wrote. All or
 * nothing: if one write fails, the ones before it are undone and the settings directory is left as
 * it was. A file that already holds what it would get is left alone, only re-chmodded: nothing to
 * undo, and no rename over it (ext4 flushes a file renamed over another, about 0.5 ms each).
 */
export function writeSettings(edits: readonly Edit[], journal: Journal, log: Log): string[] {
  const written: string[] = []
  const attempt: Journal = { dir: journal.dir, createdDirs: [], entries: [] }
  try {
    ensureDir(journal.dir, attempt)
    for (const edit of edits) {
      const file = join(journal.dir, edit.file)
      const current = readRegular(file)
      if (edit.value === null) {
        if (current === undefined) continue
        record(attempt, { file: edit.file, before: current, created: false, afterSha256: ABSENT })
        rmSync(file)
        log.info(`Removed ${file}, left by an earlier login.`)
        continue
      }
      const { text, before } = applyEdit(current, edit, edit.value)
      if (text === current) {
        chmodSync(file, 0o600)
        continue
      }
      const entry = {
        file: edit.file,
        key: 'key' in edit ? edit.key : undefined,
        before,
        afterSha256: sha256(edit.value)
      }
      record(attempt, {
        ...entry,
        created: current === undefined,
        ...('key' in edit && current !== undefined && { fileBefore: current })
      })
      writeAtomic(file, text)
      if (!written.includes(edit.file)) written.push(edit.file)
    }
  } catch (error) {
    undoSettings(attempt, log)
    throw error
  }
  journal.createdDirs.push(...attempt.createdDirs)
  for (const entry of attempt.entries) record(journal, entry)
  return written
}

/**
 * Undoes the journal, newest change first. An entry is restored only while it still holds what
 * this step wrote: a value a later step put there is theirs to keep. Problems become warnings.
 */
export function undoSettings(journal: Journal, log: Log): void {
  for (const entry of [...journal.entries].reverse()) {
    const file = join(journal.dir, entry.file)
    try {
      const current = readRegular(file)
      if (entry.key === undefined) {
        const stillOurs =
          entry.afterSha256 === ABSENT
            ? current === undefined
            : current !== undefined && sha256(current) === entry.afterSha256
        if (!stillOurs) {
          log.info(`${file} was changed after this step; left as it is.`)
        } else if (entry.before === null) rmSync(file)
        else writeAtomic(file, entry.before)
        continue
      }
      const object = parseKeyed(file, current)
      if (!Object.hasOwn(object, entry.key) || sha256(object[entry.key]!) !== entry.afterSha256) {
        log.info(`The ${entry.key} entry of ${file} was changed after this step; left as it is.`)
        continue
      }
      if (entry.before === null) delete object[entry.key]
      else object[entry.key] = entry.before
      if (Object.keys(object).length === 0 && entry.created) rmSync(file)
      else if (entry.fileBefore !== undefined && sameEntries(object, parseKeyed(file, entry.fileBefore)))
        writeAtomic(file, entry.fileBefore) // byte for byte, whatever wrote it
      else writeAtomic(file, formatKeyed(object))
    } catch (error) {
      log.warning(`Could not restore ${file}: ${(error as Error).message}`)
    }
  }
  for (const dir of [...journal.createdDirs].reverse()) {
    try {
      rmdirSync(dir)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') {
        log.warning(`Could not remove ${dir}: ${(error as Error).message}`)
      }
    }
  }
}

function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every(k => Object.hasOwn(b, k) && a[k] === b[k])
}
