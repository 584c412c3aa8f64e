import type { PlatformPath } from 'node:path'

/**
 * How a path given as an option is read on each OS (docs/platforms.md). Pure: the path flavour
 * (`node:path`'s `posix` or `win32`) and the platform come in as arguments, so both are tested on
 * any machine; options.ts passes the running ones.
 */

const isWindowsFlavour = (path: PlatformPath) => path.sep === '\\'

/**
 * `~` and `~/...` are the job's home, as a shell reads them; on Windows `~\...` too, since both
 * separators are a separator there. The home is Node's `os.homedir()`: `HOME` on Linux and macOS,
 * `USERPROFILE` on Windows (where Git Bash's `HOME` is not consulted). Anything else is returned as it is.
 */
export function expandHome(raw: string, home: string, path: PlatformPath): string {
  if (raw === '~') return home
  const separators = isWindowsFlavour(path) ? ['/', '\\'] : ['/']
  if (separators.includes(raw.charAt(1)) && raw.startsWith('~')) return path.join(home, raw.slice(2))
  return raw
}

/** `~name`: a shell would look the user up in the password database, which Node cannot read. */
export function isOtherUsersHome(raw: string, path: PlatformPath): boolean {
  return (isWindowsFlavour(path) ? /^~[^/\\]/ : /^~[^/]/).test(raw)
}

/**
 * Whether names that differ only in case are one file there: Windows (NTFS) and macOS (APFS, as
 * formatted by default) fold case, so a check that a directory is outside another must too.
 */
export function foldsCase(platform: NodeJS.Platform): boolean {
  return platform === 'win32' || platform === 'darwin'
}

/** Whether `child` is `parent` or under it; both absolute, in the flavour's syntax. */
export function isWithin(
  child: string,
  parent: string,
  path: PlatformPath,
  platform: NodeJS.Platform
): boolean {
  const fold = (p: string) => (foldsCase(platform) ? p.toLowerCase() : p)
  const relative = path.relative(fold(path.resolve(parent)), fold(path.resolve(child)))
  if (relative === '') return true
  // Another drive on Windows comes back absolute; `..` alone or `..` then a separator is outside.
  return !path.isAbsolute(relative) && relative !== '..' && !relative.startsWith(`..${path.sep}`)
}
