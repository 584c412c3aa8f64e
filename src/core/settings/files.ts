import { chmodSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { ConvoxError } from '../errors.ts'
import { parseJson } from '../http/json.ts'
import type { Naming } from '../naming.ts'
import type { HeldRetry } from './held-file.ts'
import { DEFAULT_HELD_RETRY, whileHeld } from './held-file.ts'

/**
 * The CLI settings files as the Go CLIs read and write them (docs/convox.md section 1.2): plain
 * files hold one value, keyed files a JSON object of string to string, written atomically with
 * mode 0600. What a login changes in them, and how it is undone, is settings.ts.
 */

/** Files that hold a JSON object keyed by host. */
export const KEYED_FILES = ['auth', 'racks'] as const
export type KeyedFile = (typeof KEYED_FILES)[number]
export const PLAIN_FILES = ['host', 'console', 'id', 'rack', 'current'] as const
export type PlainFile = (typeof PLAIN_FILES)[number]

/** The one setting that may be a directory: v3's `racks` (docs/convox.md section 1.3). */
const MAY_BE_DIRECTORY: ReadonlySet<string> = new Set(['racks'])

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
 * The way out a login has that an undo has not: another settings directory, in the words of the
 * front end (naming.ts). An undo passes no naming: the directory is the one the login used.
 */
const otherDir = (naming: Naming | undefined, way = ' or choose') =>
  naming ? `${way} another ${naming.ref('config-dir')}` : ''

/**
 * Reads a file we may write, refusing anything but a regular file. Undefined when absent, and for
 * v3's `racks` directory, which is not ours to read or write.
 */
export function readRegular(file: string, naming?: Naming): string | undefined {
  // Not a thrown ENOENT: a login checks ten absent files, and each exception costs a stack trace.
  const stat = lstatSync(file, { throwIfNoEntry: false })
  if (stat === undefined) return undefined
  if (stat.isDirectory() && MAY_BE_DIRECTORY.has(basename(file))) return undefined
  if (stat.isSymbolicLink()) {
    throw new ConvoxError(
      `${file} is a symbolic link; refusing to write credentials through it: remove the link and run again.`
    )
  }
  if (!stat.isFile()) throw new ConvoxError(`${file} is not a regular file: remove it${otherDir(naming)}.`)
  return readFileSync(file, 'utf8')
}

export function parseKeyed(file: string, text: string | undefined, naming?: Naming): Record<string, string> {
  if (text === undefined || text.trim() === '') return {}
  const value = parseJson(text)
  if (
    !value ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    !Object.values(value).every(v => typeof v === 'string')
  ) {
    throw new ConvoxError(
      `${file} is not a JSON object of strings, so the Convox CLI cannot read it either: fix or delete it${otherDir(naming, ', or use')}; nothing was changed.`
    )
  }
  return value as Record<string, string>
}

/**
 * Temporary file then rename: a reader never sees half a file, and the mode is 0600 from the start.
 * On Windows the rename waits briefly for another program to let go of the file (held-file.ts).
 */
export function writeAtomic(file: string, content: string, retry: HeldRetry = DEFAULT_HELD_RETRY): void {
  const temp = writeTemp(file, content)
  try {
    whileHeld('replace', file, () => renameSync(temp, file), retry)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/** The content of `file`, written 0600 beside it under a name no one else uses; returns that name. */
export function writeTemp(file: string, content: string): string {
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
