import { existsSync, lstatSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { InputError } from '../core/errors.ts'
import type { Flags } from './args.ts'

/** Reading flag values, shared by the command's option modules (options.ts, stores.ts). */

export const text = (flags: Flags, name: string): string => {
  const value = flags[name]
  return typeof value === 'string' ? value.trim() : ''
}

/** A file this command will write: its directory must exist, and it must not be a link or a directory. */
export function checkWritableDir(file: string, flag: string): void {
  const dir = dirname(file)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`${flag} ${file}: the directory ${dir} does not exist; create it first.`)
  }
  const stat = lstatSync(file, { throwIfNoEntry: false })
  if (stat && !stat.isFile()) {
    throw new InputError(
      `${flag} ${file} exists and is not a regular file: remove it or choose another path.`
    )
  }
}
