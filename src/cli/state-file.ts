import { hash } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ConvoxError } from '../core/errors.ts'
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
  /** Oldest first; logout takes the last. */
  logins: Journal[]
}

/** `$XDG_STATE_HOME/convox-login/` (or `~/.local/state/`), one file per config dir. */
export function defaultStateFile(configDir: string, env: { XDG_STATE_HOME?: string }, home: string): string {
  const root = env.XDG_STATE_HOME || join(home, '.local', 'state')
  return join(root, 'convox-login', `config-${hash('sha256', configDir).slice(0, 16)}.json`)
}

/** The stack of logins recorded in `file`; empty when there is none. */
export function readLogins(file: string): Journal[] {
  const stat = lstatSync(file, { throwIfNoEntry: false })
  if (stat === undefined) return []
  if (!stat.isFile()) {
    throw new ConvoxError(
      `The state file ${file} is not a regular file: remove it or give another --state-file.`
    )
  }
  // Each login is checked as the action's post step checks its journal (journal.ts): logout writes
  // into the directory a journal names, so a record edited by hand must not name anything else.
  // The sentence is ours, not the parser's: that would quote the text, which holds other hosts' keys.
  const parsed = parseJson(readFileSync(file, 'utf8')) as Partial<StateFile> | undefined
  const logins = Array.isArray(parsed?.logins) ? parsed.logins.map(asJournal) : undefined
  if (parsed?.version !== 1 || !logins || logins.includes(undefined)) {
    throw new ConvoxError(
      `The state file ${file} is not a convox-login record: remove it or give another --state-file.`
    )
  }
  return logins as Journal[]
}

export function writeLogins(file: string, logins: readonly Journal[]): void {
  if (logins.length === 0) {
    rmSync(file, { force: true })
    return
  }
  const dir = dirname(file)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  writeAtomic(file, JSON.stringify({ version: 1, logins: [...logins] } satisfies StateFile))
}

/**
 * A login's place in the stack: it is pushed on the first save and replaced on the later ones
 * (after a keyroll), so one login is one entry whatever happened to the settings in between.
 */
export class LoginRecord {
  private readonly file: string
  private readonly logins: Journal[]
  private index: number | undefined

  constructor(file: string) {
    this.file = file
    // Read before anything is sent: a broken record is refused while nothing has changed.
    this.logins = readLogins(file)
  }

  /** Also a login that changed nothing: each logout then undoes one login, the last one. */
  save(journal: Journal): void {
    this.index ??= this.logins.push(journal) - 1
    this.logins[this.index] = journal
    writeLogins(this.file, this.logins)
  }
}
