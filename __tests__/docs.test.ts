import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { parseInputs } from '../src/action/inputs.ts'

/** The README is what users copy from: its tables must match action.yml and its examples must parse. */

const root = path.resolve(import.meta.dirname, '..')
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
