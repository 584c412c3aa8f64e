import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { parseInputs } from '../../src/action/inputs.ts'
import { COMMANDS, FLAGS } from '../../src/cli/args.ts'

/** The README is what users copy from: its tables must match action.yml and its examples must parse. */

const root = path.resolve(import.meta.dirname, '../..')
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
const action = parse(fs.readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, unknown>
  runs: { using: string; main: string; post: string }
}

/** Rows of the markdown table under a `## heading`: first cell without backticks, second cell. */
function tableUnder(heading: string): Array<[string, string]> {
  const section = readme.split(/^## /m).find(s => s.startsWith(`${heading}\n`))
  if (!section) throw new Error(`README has no "## ${heading}" section`)
  return section
    .split('\n')
    .filter(line => /^\| `/.test(line))
    .map(line => {
      const cells = line.split(' | ').map(c => c.replace(/^\| /, '').trim())
      return [cells[0]!.replace(/`/g, ''), cells[1]!]
    })
}

describe('README', () => {
  it('documents every input of action.yml with its default, and no other', () => {
    const rows = tableUnder('Inputs')
    expect(rows.map(([name]) => name)).toEqual(Object.keys(action.inputs))
    for (const [name, documented] of rows) {
      const input = action.inputs[name]!
      const expected = input.required ? '(required)' : input.default ? `\`${input.default}\`` : 'empty'
      expect(`${name}: ${documented}`).toBe(`${name}: ${expected}`)
    }
  })

  it('documents every output of action.yml, and no other', () => {
    expect(tableUnder('Outputs').map(([name]) => name)).toEqual(Object.keys(action.outputs))
  })

  it('runs main and post from the committed bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.cjs', post: 'dist/post.cjs' })
  })

  const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => m[1]!)
  const steps = examples.flatMap(text => {
    const doc = parse(text) as unknown
    const found: Array<Record<string, unknown>> = []
    const visit = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(visit)
      else if (node && typeof node === 'object') {
        const step = node as { uses?: unknown; with?: Record<string, unknown> }
        if (typeof step.uses === 'string' && step.uses.includes('/convox-login@')) found.push(step.with ?? {})
        Object.values(node).forEach(visit)
      }
    }
    visit(doc)
    return found
  })

  it('has usage examples of this action', () => {
    expect(steps.length).toBeGreaterThanOrEqual(7)
  })

  it.each(steps.map((inputs, i) => [i + 1, inputs] as const))(
    'example %i uses only real inputs, and they parse',
    (_i, inputs) => {
      for (const name of Object.keys(inputs)) expect(Object.keys(action.inputs)).toContain(name)
      // Expressions stand for what the runner would pass: a made-up secret (a whole RACK_URL for
      // rack-url), a temp directory.
      const secret = (name: string) =>
        name === 'rack-url' ? 'https://convox:made-up-secret-value@rack.example.com' : 'made-up-secret-value'
      const values = Object.fromEntries(
        Object.entries(inputs).map(([name, value]) => [
          name,
          String(value)
            .replace(/\$\{\{\s*runner\.temp\s*\}\}/g, os.tmpdir())
            .replace(/\$\{\{[^}]*\}\}/g, secret(name))
        ])
      )
      const get = (name: string) =>
        values[name] ?? action.inputs[name]?.default?.replace(/\$\{\{[^}]*\}\}/, 'token') ?? ''
      expect(() =>
        parseInputs(get, { home: os.tmpdir(), workspace: path.join(os.tmpdir(), 'workspace') })
      ).not.toThrow()
    }
  )
})

describe('docs/other-ci.md: the convox-login command', () => {
  // The command's guide is a page of its own; its per-CI sections are its `## ` headings.
  const section = fs.readFileSync(path.join(root, 'docs', 'other-ci.md'), 'utf8')
  const snippets = [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map(m => m[1]!)

  /** Each `convox-login <command> ...` in the snippets, with the flags up to the end of its command. */
  const uses = snippets.flatMap(text =>
    [...text.matchAll(new RegExp(`convox-login (${COMMANDS.join('|')})\\b([^\\n|;)]*)`, 'g'))].map(m => ({
      command: m[1] as (typeof COMMANDS)[number],
      flags: [...m[2]!.matchAll(/(?:^|\s)--([a-z][a-z-]*)/g)].map(f => f[1]!)
    }))
  )

  it('has a section with a snippet per CI, each of which logs in', () => {
    for (const ci of ['GitLab CI', 'CircleCI', 'Buildkite', 'Azure Pipelines', 'Jenkins', 'A terminal']) {
      const sub = section.split(/^## /m).find(s => s.startsWith(`${ci}\n`))
      expect(sub).toMatch(/```[a-z]*\n[\s\S]*convox-login login[\s\S]*```/)
    }
    expect(section).toMatch(/convox-login keyroll [^\n]*--gitlab-variable/)
  })

  it.each(COMMANDS)('uses only flags that %s has', command => {
    const found = uses.filter(u => u.command === command)
    expect(found.length).toBeGreaterThan(0)
    const known = FLAGS[command].map(f => f.name)
    for (const use of found)
      for (const flag of use.flags)
        expect(`${command} --${flag}`).toBe(`${command} --${known.includes(flag) ? flag : '?'}`)
  })

  it('names only flags that exist, in its prose too', () => {
    const all = new Set(Object.values(FLAGS).flatMap(flags => flags.map(f => f.name)))
    const named = [...section.matchAll(/`--([a-z][a-z-]*)/g)].map(m => m[1]!)
    expect(named.length).toBeGreaterThan(5)
    expect(
      named.filter(name => !all.has(name) && name !== 'help' && name !== 'version' && name !== 'password')
    ).toEqual([])
  })
})

describe('README: a page for users first', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    repository: { url: string }
  }
  const owner = /github\.com\/([^/]+\/[^/.]+)/.exec(pkg.repository.url)![1]!
  const headings = [...readme.matchAll(/^## (.*)$/gm)].map(m => m[1]!)

  it('opens with a quick start: the Console with a rack, then a Rack, before anything else', () => {
    expect(headings[0]).toBe('Quick start')
    const firstBlock = /```(\w*)\n([\s\S]*?)```/.exec(readme)!
    expect(firstBlock[1]).toBe('yaml')
    expect(firstBlock[2]).toMatch(/uses: [^\n]*\/convox-login@v1[\s\S]*rack: /)
    const quick = readme.split(/^## /m).find(s => s.startsWith('Quick start\n'))!
    expect([...quick.matchAll(/^### (.*)$/gm)].map(m => m[1])).toEqual([
      'Console, switched to a rack',
      'A Rack, directly'
    ])
  })

  it('has a table of contents of every later section, then the inputs and outputs', () => {
    const listed = [...readme.matchAll(/^- \[([^\]]+)\]\(#[a-z0-9-]+\)$/gm)].map(m => m[1])
    expect(headings[1]).toBe('Contents')
    expect(listed).toEqual(headings.slice(2))
    expect(headings.slice(2, 4)).toEqual(['Inputs', 'Outputs'])
  })

  it("names the action by one owner, package.json's repository, everywhere", () => {
    const uses = [...readme.matchAll(/uses: ([\w.-]+\/convox-login)@/g)].map(m => m[1])
    expect(uses.length).toBeGreaterThanOrEqual(7)
    expect(new Set(uses)).toEqual(new Set([owner]))
    for (const page of ['README.md', 'CONTRIBUTING.md', 'docs/other-ci.md', 'docs/releasing.md']) {
      expect(
        `${page}: ${fs.readFileSync(path.join(root, page), 'utf8').match(/[\w.-]+\/convox-login@/g)}`
      ).not.toMatch(/acme\//)
    }
    expect(readme).not.toMatch(/acme\/convox-login/)
  })

  it('ends with Develop: the two commands a newcomer runs, and CONTRIBUTING.md for the rest', () => {
    expect(headings.at(-1)).toBe('Develop')
    const develop = readme.split(/^## /m).at(-1)!
    expect(develop).toMatch(/npm ci && npm run demo/)
    expect(develop).toMatch(/^npm test\b/m)
    expect(develop).toMatch(/\(CONTRIBUTING\.md\)/)
  })
})
