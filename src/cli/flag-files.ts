import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { InputError } from '../core/errors.ts'
import type { Flags } from './args.ts'

/** A flag's text, and the files flags name: read whole, or checked before they are written. */

export const text = (flags: Flags, name: string): string => {
  const value = flags[name]
  return typeof value === 'string' ? value.trim() : ''
}

export function readText(file: string, flag: string): string {
  try {
    const stat = lstatSync(file)
    if (!stat.isFile() && !stat.isFIFO() && !stat.isCharacterDevice() && !stat.isSymbolicLink()) {
      throw new InputError(`${flag} ${file} is not a file.`)
    }
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (error instanceof InputError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new InputError(
      `${flag} ${file} cannot be read (${code ?? (error as Error).message}): check the path.`
    )
  }
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
