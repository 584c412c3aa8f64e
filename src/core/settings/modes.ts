/**
 * What file modes mean on each OS (docs/platforms.md). The settings are written as the Go CLIs
 * write them, directory 0700 and files 0600, everywhere. On Linux and macOS that is what protects
 * the key. Windows has no such modes: Node's chmod only sets or clears the read-only attribute
 * (0600 clears it), stat reports 0666 for any writable file or directory, and who may read the file
 * is decided by the access control list it inherits from its parent directory.
 */

/** Whether the 0600/0700 modes are what protects the settings there. */
export function hasPosixModes(platform: NodeJS.Platform): boolean {
  return platform !== 'win32'
}

/** What `stat().mode & 0o777` shows for a settings file or directory once written. */
export function settingsStatMode(platform: NodeJS.Platform, kind: 'file' | 'dir'): number {
  if (!hasPosixModes(platform)) return 0o666
  return kind === 'dir' ? 0o700 : 0o600
}

/** One log line for where modes do not protect the key; none where they do. */
export function protectionNote(platform: NodeJS.Platform, dir: string): string | undefined {
  if (hasPosixModes(platform)) return undefined
  return (
    `Windows has no file modes: the key in ${dir} is as private as the access control list that directory ` +
    'inherits (under your user profile: you, SYSTEM and Administrators; elsewhere, whatever its parent allows).'
  )
}
