import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** scripts/actionlint.ts, the workflow check in npm run lint: it passes this repository and fails a bad workflow. */

const root = path.resolve(import.meta.dirname, '../..')
const SCRIPT = path.join(root, 'scripts', 'actionlint.ts')
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-actionlint-'))
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }))

const lint = (cwd: string) => spawnSync(process.execPath, [SCRIPT], { cwd, encoding: 'utf8' })

describe('actionlint over .github/workflows', () => {
  it("finds nothing in this repository's workflows", () => {
    const result = lint(root)
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^actionlint: \d+ workflows, no findings\n$/)
  })

  it('fails a workflow that reads an output of a step that does not exist, and says where', () => {
    fs.mkdirSync(path.join(temp, '.github', 'workflows'), { recursive: true })
    fs.writeFileSync(
      path.join(temp, '.github', 'workflows', 'bad.yml'),
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n'
    )
    const result = lint(temp)
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/^\.github\/workflows\/bad\.yml:6:\d+: property "nope" is not defined/)
  })
})
