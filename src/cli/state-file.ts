import { hash } from 'node:crypto'
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve, sep } from 'node:path'
import { ConvoxError } from '../core/errors.ts'
import { describeErrno } from '../core/fs-errors.ts'
import type { Journal } from '../core/settings/journal.ts'
import { asJournal } from '../core/settings/journal.ts'
import { parseJson } from '../core/http/json.ts'
import { writeAtomic } from '../core/settings/files.ts'

/**
 * The undo record of `login`, for `logout`: the action's journal (core/settings/settings.ts), kept in a
 * file between two commands instead of in the runner's step state. It holds the previous content
 * of the settings (another host's key among them), so it is a 0600 file in a 0700 directory. One
 * file per config dir holds a stack: two logins then two logouts undo in reverse order.
 */

interface StateFile {
  version: 1
  /** Oldest first; logout takes the last. Each is a journal with the names its login exported. */
  logins: Array<Journal & { exported?: string[] }>
  /** The directories this file's first save created, outermost first: removed, if empty, with the last login. */
  createdDirs?: string[]
}

/** One login: what it changed in the settings, and the variables it handed a shell (names only). */
export interface RecordedLogin {
  journal: Journal
  exported: string[]
}

/** What the state file holds. */
export interface LoginStack {
  logins: RecordedLogin[]
  createdDirs: string[]
}

/**
 * The only names logout will print an unset line for: they go into a shell's eval, so a record
 * edited to hold anything else is refused, not printed.
 */
export const LOGIN_VARIABLES: readonly string[] = [
  'CONVOX_HOST',
  'CONVOX_PASSWORD',
  'CONVOX_CONFIG',
  'CONVOX_RACK',
  'RACK_URL',
  'CONVOX_ACTOR'
]

/** `$XDG_STATE_HOME/convox-login/` (or `~/.local/state/`), one file per config dir. */
export function defaultStateFile(configDir: string, env: { XDG_STATE_HOME?: string }, home: string): string {
  const root = env.XDG_STATE_HOME || join(home, '.local', 'state')
  return join(root, 'convox-login', `config-${hash('sha256', configDir).slice(0, 16)}.json`)
}

/** The stack of logins recorded in `file`; empty when there is none. */
export function readLogins(file: string): LoginStack {
  let stat
  try {
    stat = lstatSync(file, { throwIfNoEntry: false })
  } catch (error) {
    // A path through a file holds no record; the first save says why it cannot make one.
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw stateFileError(file, 'read', error)
  }
  if (stat === undefined) return { logins: [], createdDirs: [] }
  if (!stat.isFile()) {
    throw new ConvoxError(
      `The state file ${file} is not a regular file: remove it or give another --state-file.`
    )
  }
  // Each login is checked as the action's post step checks its journal (journal.ts): logout writes
  // into the directory a journal names, so a record edited by hand must not name anything else.
  // The sentence is ours, not the parser's: that would quote the text, which holds other hosts' keys.
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw stateFileError(file, 'read', error)
  }
  const parsed = parseJson(text) as Partial<StateFile> | undefined
  const logins = Array.isArray(parsed?.logins) ? parsed.logins.map(asRecordedLogin) : undefined
  const createdDirs = parsed?.createdDirs ?? []
  if (
    parsed?.version !== 1 ||
    !logins ||
    logins.includes(undefined) ||
    !Array.isArray(createdDirs) ||
    !createdDirs.every(d => isDirOf(d, file))
  ) {
    throw new ConvoxError(
      `The state file ${file} is not a convox-login record: remove it or give another --state-file.`
    )
  }
  return { logins: logins as RecordedLogin[], createdDirs }
}

function asRecordedLogin(value: unknown): RecordedLogin | undefined {
  const journal = asJournal(value)
  const exported = (value as { exported?: unknown } | undefined)?.exported ?? []
  if (!journal || !Array.isArray(exported) || !exported.every(name => LOGIN_VARIABLES.includes(name))) {
    return undefined
  }
  return { journal, exported: exported as string[] }
}

/** `dir` is the state file's directory or one of its parents. */
function isDirOf(dir: unknown, file: string): boolean {
  const parent = dirname(file)
  return (
    typeof dir === 'string' &&
    isAbsolute(dir) &&
    resolve(dir) === dir &&
    (dir === parent || parent.startsWith(dir.endsWith(sep) ? dir : dir + sep))
  )
}

/**
 * Writes the stack; with no login left, removes the file and then each directory its first save
 * created, if empty: a logout leaves the machine as the first login found it.
 */
export function writeLogins(file: string, stack: LoginStack): void {
  const dir = dirname(file)
  try {
    if (stack.logins.length === 0) {
      rmSync(file, { force: true })
      for (const created of [...stack.createdDirs].reverse()) removeIfEmpty(created)
      return
    }
    const createdDirs = stack.createdDirs.length > 0 ? stack.createdDirs : missingDirs(dir)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    chmodSync(dir, 0o700)
    const logins = stack.logins.map(({ journal, exported }) => ({ ...journal, exported }))
    writeAtomic(file, JSON.stringify({ version: 1, logins, createdDirs } satisfies StateFile))
    stack.createdDirs = createdDirs
  } catch (error) {
    throw stateFileError(file, 'write', error)
  }
}

/** The state file and its directory, not the settings': they are in different places. */
function stateFileError(file: string, doing: 'read' | 'write', error: unknown): unknown {
  const cause = describeErrno(error)
  if (cause === undefined) return error
  return new ConvoxError(
    `Cannot ${doing} the state file ${file} (${cause}): convox-login keeps the undo record of each login there, ` +
      `so its directory ${dirname(file)} must be one you can ${doing} (it is under HOME, or XDG_STATE_HOME when set); or give --state-file F elsewhere.`
  )
}

/** Another program's files in it, or it gone already: left as it is. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error
  }
}

/** The directories mkdir -p would create for `dir`, outermost first. */
function missingDirs(dir: string): string[] {
  const missing: string[] = []
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d)
  return missing
}

/**
 * A login's place in the stack: it is pushed on the first save and replaced on the later ones
 * (after a keyroll), so one login is one entry whatever happened to the settings in between.
 */
export class LoginRecord {
  private readonly file: string
  private readonly stack: LoginStack
  private index: number | undefined

  constructor(file: string) {
    this.file = file
    // Read before anything is sent: a broken record is refused while nothing has changed.
    this.stack = readLogins(file)
  }

  /**
   * Also a login that changed nothing: each logout then undoes one login, the last one. `exported`
   * names the variables handed to a shell, for logout to unset; kept from an earlier save when omitted.
   */
  save(journal: Journal, exported?: string[]): void {
    this.index ??= this.stack.logins.push({ journal, exported: [] }) - 1
    const entry = this.stack.logins[this.index]!
    this.stack.logins[this.index] = { journal, exported: exported ?? entry.exported }
    writeLogins(this.file, this.stack)
  }
}
