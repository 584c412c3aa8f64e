import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

/**
 * Makes a directory that this machine's processes cannot write into, and returns how to undo it.
 * A mode of 0500 stops a user but not root, which CI containers often are: there the directory is
 * made immutable (chattr +i), which stops root too. Throws where neither works, so a test that
 * needs it fails rather than passing for nothing.
 */
export function makeUnwritable(dir: string): () => void {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o500)
    return () => fs.chmodSync(dir, 0o700)
  }
  execFileSync('chattr', ['+i', dir])
  return () => execFileSync('chattr', ['-i', dir])
}
