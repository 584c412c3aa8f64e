import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs'
import { hash } from 'node:crypto'
import { dirname, join } from 'node:path'
import { ConvoxError } from '../errors.ts'
import { describeErrno } from '../fs-errors.ts'
import type { Journal, JournalEntry } from './journal.ts'
import { ABSENT, merged, record } from './journal.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import type { KeyedFile, PlainFile } from './files.ts'
import {
  formatKeyed,
  KEYED_FILES,
  parseKeyed,
  PLAIN_FILES,
  readRegular,
  writeAtomic,
  writeTemp
} from './files.ts'
import { whileHeld } from './held-file.ts'
import { withSettingsLock } from './lock.ts'
import { settingsStatMode } from './modes.ts'

/**
 * What a login changes in the CLI settings directory (docs/convox.md section 1), under its lock,
 * all or nothing, recording every change in the journal (journal.ts) so that the post step can
 * undo exactly what was done, and nothing else. The files' own format is files.ts.
 */

/**
 * A plain file's `value: null` removes it, as `convox login` removes `rack`. A keyed edit with
 * `ifPresent` changes the file only if it already is one: `racks` is a v2 CLI's JSON file, which
 * a login need not create, but a v3 CLI's directory, which must stay one.
 */
export type Edit =
  | { file: PlainFile; value: string | null }
  | { file: KeyedFile; key: string; value: string; ifPresent?: true }

const sha256 = (text: string) => hash('sha256', text)

/** Checks the files we would merge into before anything is sent or written. */
export function checkSettings(dir: string, naming: Naming): void {
  try {
    for (const name of KEYED_FILES) parseKeyed(join(dir, name), readRegular(join(dir, name), naming), naming)
    for (const name of PLAIN_FILES) readRegular(join(dir, name), naming)
  } catch (error) {
    throw diskError(dir, error, 'read', naming)
  }
}

/** One sentence for a settings directory that cannot be read or written; other errors as they are. */
export function diskError(dir: string, error: unknown, doing: 'read' | 'write', naming: Naming): unknown {
  if (error instanceof ConvoxError) return error
  const cause = describeErrno(error)
  if (cause === undefined) return error
  return new ConvoxError(
    `Cannot ${doing} the Convox settings in ${dir}: ${cause}; nothing was changed. ` +
      `Choose a ${naming.ref('config-dir')} this job can write, such as ${naming.example('config-dir')}.`
  )
}

/** Creates what is missing of `dir`; a directory another job creates meanwhile is theirs (EEXIST). */
function ensureDir(dir: string, journal: Journal, naming: Naming): void {
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
    throw new ConvoxError(
      `${naming.ref('config-dir')} ${dir} is not a directory: choose another ${naming.ref('config-dir')}.`
    )
}

/** The value an edit leaves in its file, given the file's current text. */
function applyEdit(
  current: string | undefined,
  edit: Edit,
  value: string,
  naming: Naming
): { text: string; before: string | null } {
  if ('key' in edit) {
    const object = parseKeyed(edit.file, current, naming)
    const before = Object.hasOwn(object, edit.key) ? object[edit.key]! : null
    return { text: formatKeyed({ ...object, [edit.key]: value }), before }
  }
  return { text: value, before: current ?? null }
}

/** One planned change: what the file gets, or null to remove it; `chmodOnly` when it holds that already. */
interface Change {
  file: string
  text: string | null
  chmodOnly?: true
}

/**
 * Applies the edits, recording each in the journal, and returns the files it wrote. All or
 * nothing: if one write fails, the ones before it are undone and the settings directory is left as
 * it was. A file that already holds what it would get is left alone, only re-chmodded: nothing to
 * undo, and no rename over it (ext4 flushes a file renamed over another, about 0.5 ms each).
 *
 * The whole read-merge-write holds the directory's lock (lock.ts), so two jobs sharing a
 * HOME cannot drop each other's entries. `beforeWrite` gets the journal with every change about to
 * be made, before the first one is: a journal that cannot be saved then stops the step with nothing
 * written, rather than leaving a key the post step would not know to remove.
 */
export function writeSettings(
  edits: readonly Edit[],
  journal: Journal,
  log: Log,
  naming: Naming,
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
        ensureDir(journal.dir, attempt, naming)
        return true
      },
      () => {
        const changes = planChanges(edits, attempt, naming)
        if (attempt.entries.length > 0) beforeWrite(merged(journal, attempt))
        // Every new content is on disk before any file is replaced: a disk that fills up (ENOSPC)
        // or a quota stops the step while nothing has changed, and undoing needs no space.
        const temps = new Map<string, string>()
        try {
          for (const change of changes) {
            if (change.text !== null && !change.chmodOnly)
              temps.set(change.file, writeTemp(join(journal.dir, change.file), change.text))
          }
          for (const change of changes) {
            const file = join(journal.dir, change.file)
            if (change.chmodOnly) {
              chmodSync(file, 0o600)
              applied.push(...attempt.entries.filter(e => e.file === change.file))
              continue
            }
            const temp = temps.get(change.file)
            if (temp === undefined) whileHeld('remove', file, () => rmSync(file))
            else whileHeld('replace', file, () => renameSync(temp, file))
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
    throw diskError(journal.dir, error, 'write', naming)
  }
  Object.assign(journal, merged(journal, attempt))
  return written
}

/** Reads every file the edits touch and records what each change will do, in the order written. */
function planChanges(edits: readonly Edit[], attempt: Journal, naming: Naming): Change[] {
  const changes: Change[] = []
  const texts = new Map<string, string | undefined>()
  /** Each file's mode before this step when it is not 0600: every write leaves 0600, undoing puts it back. */
  const modes = new Map<string, number | undefined>()
  for (const edit of edits) {
    const file = join(attempt.dir, edit.file)
    if (!texts.has(edit.file)) {
      texts.set(edit.file, readRegular(file, naming))
      const mode = texts.get(edit.file) === undefined ? undefined : statSync(file).mode & 0o777
      // What a write leaves (0600; on Windows the 0666 stat shows for any writable file) is no change.
      modes.set(edit.file, mode === settingsStatMode(process.platform, 'file') ? undefined : mode)
    }
    const current = texts.get(edit.file)
    const modeBefore = modes.get(edit.file)
    const mode = modeBefore === undefined ? {} : { modeBefore }
    if ('ifPresent' in edit && edit.ifPresent && current === undefined) continue
    if (edit.value === null) {
      if (current === undefined) continue
      record(attempt, { file: edit.file, before: current, created: false, afterSha256: ABSENT, ...mode })
      changes.push({ file: edit.file, text: null })
      texts.set(edit.file, undefined)
      continue
    }
    const { text, before } = applyEdit(current, edit, edit.value, naming)
    if (text === current && modeBefore === undefined) continue
    record(attempt, {
      file: edit.file,
      key: 'key' in edit ? edit.key : undefined,
      before,
      afterSha256: sha256(edit.value),
      created: current === undefined,
      ...('key' in edit && current !== undefined && { fileBefore: current }),
      ...mode
    })
    if (text === current) {
      // It holds this already: only its mode changes (a key must not stay readable by others).
      if (!changes.some(c => c.file === edit.file)) changes.push({ file: edit.file, text, chmodOnly: true })
      continue
    }
    texts.set(edit.file, text)
    const pending = changes.findIndex(c => c.file === edit.file)
    if (pending >= 0) changes.splice(pending, 1)
    changes.push({ file: edit.file, text })
  }
  return changes
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
        } else if (entry.before === null) whileHeld('remove', file, () => rmSync(file))
        else restore(file, entry.before, entry.modeBefore)
        continue
      }
      const object = parseKeyed(file, current)
      if (!Object.hasOwn(object, entry.key) || sha256(object[entry.key]!) !== entry.afterSha256) {
        log.info(`The ${entry.key} entry of ${file} was changed after this step; left as it is.`)
        continue
      }
      if (entry.before === null) delete object[entry.key]
      else object[entry.key] = entry.before
      if (Object.keys(object).length === 0 && entry.created) whileHeld('remove', file, () => rmSync(file))
      else if (entry.fileBefore !== undefined && sameEntries(object, parseKeyed(file, entry.fileBefore)))
        restore(file, entry.fileBefore, entry.modeBefore) // byte for byte, whatever wrote it
      else restore(file, formatKeyed(object), entry.modeBefore)
    } catch (error) {
      log.warning(`Could not restore ${file}: ${(error as Error).message}`)
    }
  }
}

/** A file as it was: its content, and its mode when that was not 0600. */
function restore(file: string, text: string, modeBefore: number | undefined): void {
  writeAtomic(file, text)
  if (modeBefore !== undefined) chmodSync(file, modeBefore)
}

function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every(k => Object.hasOwn(b, k) && a[k] === b[k])
}
