import fs from 'node:fs'
import path from 'node:path'

/** Looking at a settings directory in tests: what is in it, byte for byte and mode for mode. */

export type Entry =
  | { type: 'file'; mode: number; content: string }
  | { type: 'dir'; mode: number }
  | { type: 'link'; target: string }

/** Everything under dir, the directory itself included: type, mode and content; 'absent' when missing. */
export function snapshot(dir: string): Record<string, Entry> | 'absent' {
  if (!fs.existsSync(dir)) return 'absent'
  const result: Record<string, Entry> = { '.': { type: 'dir', mode: fs.statSync(dir).mode & 0o777 } }
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const file = path.join(d, name)
      const rel = path.relative(dir, file)
      const stat = fs.lstatSync(file)
      if (stat.isSymbolicLink()) result[rel] = { type: 'link', target: fs.readlinkSync(file) }
      else if (stat.isDirectory()) {
        result[rel] = { type: 'dir', mode: stat.mode & 0o777 }
        walk(file)
      } else result[rel] = { type: 'file', mode: stat.mode & 0o777, content: fs.readFileSync(file, 'utf8') }
    }
  }
  walk(dir)
  return result
}

export const mode = (file: string) => fs.statSync(file).mode & 0o777
export const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), 'utf8')
