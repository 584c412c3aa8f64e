// What the CI workflow's `uses: ./` job checks in a settings directory, the same way on Linux,
// macOS and Windows (no GNU stat, no shell path syntax):
//   node scripts/check-settings.ts written <dir> [<host>]   auth is there (0600 where modes exist), host holds <host>
//   node scripts/check-settings.ts absent <dir>             nothing was created
//   node scripts/check-settings.ts same <path> <path>       both name one directory
import fs from 'node:fs'
import path from 'node:path'
import { hasPosixModes, settingsStatMode } from '../src/core/settings/modes.ts'

const [check, first = '', second] = process.argv.slice(2)

function fail(message: string): never {
  console.error(`check-settings: ${message}`)
  process.exit(1)
}

if (check === 'written') {
  const auth = path.join(first, 'auth')
  if (!fs.statSync(first, { throwIfNoEntry: false })?.isDirectory()) fail(`${first} is not a directory`)
  if (!fs.statSync(auth, { throwIfNoEntry: false })?.isFile()) fail(`${auth} was not written`)
  // Windows has no modes to check (modes.ts): there the directory's ACL protects the key.
  if (hasPosixModes(process.platform)) {
    for (const [file, kind] of [
      [first, 'dir'],
      [auth, 'file']
    ] as const) {
      const mode = fs.statSync(file).mode & 0o777
      const expected = settingsStatMode(process.platform, kind)
      if (mode !== expected) fail(`${file} has mode ${mode.toString(8)}, not ${expected.toString(8)}`)
    }
  }
  if (second !== undefined) {
    const host = fs.readFileSync(path.join(first, 'host'), 'utf8')
    if (host !== second)
      fail(`${path.join(first, 'host')} holds ${JSON.stringify(host)}, not ${JSON.stringify(second)}`)
  }
} else if (check === 'absent') {
  if (fs.existsSync(first)) fail(`${first} exists`)
} else if (check === 'same') {
  if (path.resolve(first) !== path.resolve(second ?? '')) fail(`${first} and ${second} differ`)
} else {
  fail(`unknown check ${JSON.stringify(check)}: use written, absent or same`)
}
console.log(`check-settings: ${check} ${first} ok`)
