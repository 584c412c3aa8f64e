/**
 * What a failed file system call means for a person: the settings directory and the undo journal
 * fail in the same few ways.
 */

/** Why a file system call failed, in words; undefined for what is not a system error. */
export function describeErrno(error: unknown): string | undefined {
  const { code, path } = error as NodeJS.ErrnoException
  const where = path ? ` (${path})` : ''
  switch (code) {
    case undefined:
      return undefined
    case 'EACCES':
    case 'EPERM':
      return `permission denied${where}`
    case 'EROFS':
      return `the file system is read-only${where}`
    case 'ENOTDIR':
      return `a part of the path is a file, not a directory${where}`
    case 'ENOSPC':
      return 'no space is left on the device'
    case 'EDQUOT':
      return 'the disk quota is used up'
    default:
      return `${code}${where}`
  }
}
