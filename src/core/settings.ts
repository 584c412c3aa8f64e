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
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path'
import { ConvoxError } from './errors.ts'
import { parseJson } from './json.ts'
import type { Log } from './log.ts'
import { describeErrno } from './fs-errors.ts'
import { withSettingsLock } from './settings-lock.ts'

/**
 * The CLI settings directory (convox-facts.md section 1): plain files hold one value, keyed files
 * a JSON object of string to string. Every change is recorded in a Journal so the post step can
 * undo exactly what was done, and nothing else.
 */

/** Files that hold a JSON object keyed by host. */
export const KEYED_FILES = ['auth', 'racks'] as const
export type KeyedFile = (typeof KEYED_FILES)[number]
export const PLAIN_FILES = ['host', 'console', 'id', 'rack', 'current'] as const
export type PlainFile = (typeof PLAIN_FILES)[number]

/**
 * A plain file's `value: null` removes it, as `convox login` removes `rack`. A keyed edit with
 * `ifPresent` changes the file only if it already is one: `racks` is a v2 CLI's JSON file, which
 * a login need not create, but a v3 CLI's directory, which must stay one.
 */
export type Edit =
  | { file: PlainFile; value: string | null }
  | { file: KeyedFile; key: string; value: string; ifPresent?: true }

/** The one setting that may be a directory: v3's `racks` (convox-facts.md section 1). */
const MAY_BE_DIRECTORY: ReadonlySet<string> = new Set(['racks'])

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

/**
 * A journal read back from its file, or undefined when the text is not one. Checked field by
 * field: undoing writes into `dir`, so entries may name only the settings files, and the
 * directories to remove only `dir` and its parents.
 */
export function parseJournal(text: string): Journal | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
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
    const { file, key, before, created, fileBefore, afterSha256 } = e as Record<string, unknown>
    return (
      typeof file === 'string' &&
      files.includes(file) &&
      optional(key, 'string') &&
      (before === null || typeof before === 'string') &&
      typeof created === 'boolean' &&
      optional(fileBefore, 'string') &&
      typeof afterSha256 === 'string'
    )
  }
  if (!Array.isArray(entries) || !entries.every(isEntry)) return undefined
  return { dir, createdDirs: createdDirs as string[], entries: entries as JournalEntry[] }
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

/**
 * Reads a file we may write, refusing anything but a regular file. Undefined when absent, and for
 * v3's `racks` directory, which is not ours to read or write.
 */
function readRegular(file: string): string | undefined {
  // Not a thrown ENOENT: a login checks ten absent files, and each exception costs a stack trace.
  const stat = lstatSync(file, { throwIfNoEntry: false })
  if (stat === undefined) return undefined
  if (stat.isDirectory() && MAY_BE_DIRECTORY.has(basename(file))) return undefined
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
  try {
    for (const name of KEYED_FILES) parseKeyed(join(dir, name), readRegular(join(dir, name)))
    for (const name of PLAIN_FILES) readRegular(join(dir, name))
  } catch (error) {
    throw diskError(dir, error, 'read')
  }
}

/** One sentence for a settings directory that cannot be read or written; other errors as they are. */
export function diskError(dir: string, error: unknown, doing: 'read' | 'write'): unknown {
  if (error instanceof ConvoxError) return error
  const cause = describeErrno(error)
  if (cause === undefined) return error
  return new ConvoxError(
    `Cannot ${doing} the Convox settings in ${dir}: ${cause}; nothing was changed. ` +
      'Choose a config-dir this job can write, such as ${{ runner.temp }}/convox.'
  )
}

/** Temporary file then rename: a reader never sees half a file, and the mode is 0600 from the start. */
export function writeAtomic(file: string, content: string): void {
  const temp = writeTemp(file, content)
  try {
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/** The content of `file`, written 0600 beside it under a name no one else uses; returns that name. */
function writeTemp(file: string, content: string): string {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' })
    chmodSync(temp, 0o600) // the umask may have narrowed nothing, but an inherited ACL may have widened it
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
  return temp
}

/** Creates what is missing of `dir`; a directory another job creates meanwhile is theirs (EEXIST). */
function ensureDir(dir: string, journal: Journal): void {
  const missing: string[] = []
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d)
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw error
    }
    chmodSync(d, 0o700)
    if (!journal.createdDirs.includes(d)) journal.createdDirs.push(d)
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

/** One planned change: what the file gets, or null to remove it. */
interface Change {
  file: string
  text: string | null
}

/**
 * Applies the edits, recording each in the journal, and returns the files it wrote. All or
 * nothing: if one write fails, the ones before it are undone and the settings directory is left as
 * it was. A file that already holds what it would get is left alone, only re-chmodded: nothing to
 * undo, and no rename over it (ext4 flushes a file renamed over another, about 0.5 ms each).
 *
 * The whole read-merge-write holds the directory's lock (settings-lock.ts), so two jobs sharing a
 * HOME cannot drop each other's entries. `beforeWrite` gets the journal with every change about to
 * be made, before the first one is: a journal that cannot be saved then stops the step with nothing
 * written, rather than leaving a key the post step would not know to remove.
 */
export function writeSettings(
  edits: readonly Edit[],
  journal: Journal,
  log: Log,
  beforeWrite: (journal: Journal) => void = () => undefined
): string[] {
  const written: string[] = []
  const attempt: Journal = { dir: journal.dir, createdDirs: [], entries: [] }
  /** The entries whose change is on disk: what a failure half-way has to undo. */
  const applied: JournalEntry[] = []
  try {
    withSettingsLock(
      journal.dir,
      () => {
        ensureDir(journal.dir, attempt)
        return true
      },
      () => {
        const changes = planChanges(edits, attempt)
        if (attempt.entries.length > 0) beforeWrite(merged(journal, attempt))
        // Every new content is on disk before any file is replaced: a disk that fills up (ENOSPC)
        // or a quota stops the step while nothing has changed, and undoing needs no space.
        const temps = new Map<string, string>()
        try {
          for (const change of changes) {
            if (change.text !== null)
              temps.set(change.file, writeTemp(join(journal.dir, change.file), change.text))
          }
          for (const change of changes) {
            const file = join(journal.dir, change.file)
            const temp = temps.get(change.file)
            if (temp === undefined) rmSync(file)
            else renameSync(temp, file)
            temps.delete(change.file)
            applied.push(...attempt.entries.filter(e => e.file === change.file))
            if (temp === undefined) log.info(`Removed ${file}, left by an earlier login.`)
            else written.push(change.file)
          }
        } finally {
          for (const temp of temps.values()) rmSync(temp, { force: true })
        }
      }
    )
  } catch (error) {
    undoSettings({ ...attempt, entries: applied }, log)
    if (attempt.entries.length > 0) {
      try {
        beforeWrite(journal) // what the post step has to undo is back to what it was
      } catch {
        // The step fails with the first error; a journal naming changes since undone is harmless.
      }
    }
    throw diskError(journal.dir, error, 'write')
  }
  journal.createdDirs.push(...attempt.createdDirs.filter(d => !journal.createdDirs.includes(d)))
  for (const entry of attempt.entries) record(journal, entry)
  return written
}

/** Reads every file the edits touch and records what each change will do, in the order written. */
function planChanges(edits: readonly Edit[], attempt: Journal): Change[] {
  const changes: Change[] = []
  const texts = new Map<string, string | undefined>()
  for (const edit of edits) {
    const file = join(attempt.dir, edit.file)
    if (!texts.has(edit.file)) texts.set(edit.file, readRegular(file))
    const current = texts.get(edit.file)
    if ('ifPresent' in edit && edit.ifPresent && current === undefined) continue
    if (edit.value === null) {
      if (current === undefined) continue
      record(attempt, { file: edit.file, before: current, created: false, afterSha256: ABSENT })
      changes.push({ file: edit.file, text: null })
      texts.set(edit.file, undefined)
      continue
    }
    const { text, before } = applyEdit(current, edit, edit.value)
    if (text === current) {
      chmodSync(file, 0o600)
      continue
    }
    record(attempt, {
      file: edit.file,
      key: 'key' in edit ? edit.key : undefined,
      before,
      afterSha256: sha256(edit.value),
      created: current === undefined,
      ...('key' in edit && current !== undefined && { fileBefore: current })
    })
    texts.set(edit.file, text)
    const pending = changes.findIndex(c => c.file === edit.file)
    if (pending >= 0) changes.splice(pending, 1)
    changes.push({ file: edit.file, text })
  }
  return changes
}

/** The journal as it will be once `attempt` is applied. */
function merged(journal: Journal, attempt: Journal): Journal {
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

/**
 * Undoes the journal, newest change first. An entry is restored only while it still holds what
 * this step wrote: a value a later step put there is theirs to keep. Problems become warnings.
 * The entries are restored holding the directory's lock, as they were written; the directories
 * are removed after it is released (the lock is a file in one of them), each only if empty, so a
 * directory another job still uses stays (ENOTEMPTY).
 */
export function undoSettings(journal: Journal, log: Log): void {
  if (journal.entries.length > 0) {
    try {
      withSettingsLock(
        journal.dir,
        () => existsSync(journal.dir),
        () => restoreEntries(journal, log)
      )
    } catch (error) {
      log.warning(`Could not restore the settings in ${journal.dir}: ${(error as Error).message}`)
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

function restoreEntries(journal: Journal, log: Log): void {
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
}

function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every(k => Object.hasOwn(b, k) && a[k] === b[k])
}
