// npm run complete-lock, after any `npm install` that changes package-lock.json.
// The registry these machines reach lacks some platforms' builds of optional native packages
// (unrs-resolver's bindings for macOS, Windows, ...), so npm leaves them out of the lock, and
// `npm ci` then refuses the lock as out of sync. A lock made against the full registry lists
// every platform's build with its os and cpu, and npm skips the ones for other platforms; this
// adds those entries, inferring os and cpu from the package names.
import fs from 'node:fs'

const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'))
const packages = lock.packages
let added = 0
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`
    const platform = /-(android|darwin|freebsd|linux|openharmony|win32|wasm32)-?([a-z0-9]*)/.exec(name)
    if (packages[key] || packages[`${path}/${key}`] || !platform) continue
    const [, os, cpu] = platform
    packages[key] =
      os === 'wasm32'
        ? { version, cpu: ['wasm32'], dev: entry.dev, optional: true }
        : { version, cpu: [cpu], dev: entry.dev, optional: true, os: [os] }
    added++
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1))
)
fs.writeFileSync('package-lock.json', `${JSON.stringify({ ...lock, packages: sorted }, null, 2)}\n`)
console.log(`complete-lock: added ${added} entries for other platforms' optional builds`)
