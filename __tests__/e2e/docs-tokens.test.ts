import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { COMMANDS, FLAGS } from '../../src/cli/args.ts'

/**
 * The README's "Least privilege" section, checked as docs.test.ts checks the rest: every YAML
 * example parses (its action steps are checked against the inputs there), and every convox-login
 * line uses flags its command has.
 */

const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')
const section = readme.split(/^## /m).find(s => s.startsWith('Least privilege\n'))!
const examples = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => m[1]!)

describe('README: Least privilege', () => {
  it('is a section of its own, listed in the contents', () => {
    const headings = [...readme.matchAll(/^## (.*)$/gm)].map(m => m[1])
    expect(headings).toContain('Least privilege')
    expect(readme).toMatch(/^- \[Least privilege\]\(#least-privilege\)$/m)
  })

  it('has the job token, GitHub renewal and revocation, and GitLab renewal and revocation', () => {
    expect(examples).toHaveLength(5)
    for (const text of examples) expect(() => parse(text)).not.toThrow()
    expect(examples.filter(e => e.includes('token-secret:'))).toHaveLength(2)
    expect(examples.filter(e => e.includes('--token-gitlab-variable'))).toHaveLength(2)
    expect(examples.some(e => e.includes('revoke-tokens: true'))).toBe(true)
    expect(examples.some(e => e.includes('--revoke-tokens'))).toBe(true)
  })

  it('uses only flags that its convox-login commands have', () => {
    const uses = examples.flatMap(text =>
      [...text.matchAll(new RegExp(`convox-login (${COMMANDS.join('|')})\\b([^\\n]*)`, 'g'))].map(m => ({
        command: m[1] as (typeof COMMANDS)[number],
        flags: [...m[2]!.matchAll(/(?:^|\s)--([a-z][a-z-]*)/g)].map(f => f[1]!)
      }))
    )
    expect(uses.length).toBeGreaterThanOrEqual(2)
    for (const use of uses) {
      const known = FLAGS[use.command].map(f => f.name)
      for (const flag of use.flags) expect(`--${flag}`).toBe(`--${known.includes(flag) ? flag : '?'}`)
    }
  })

  it('schedules the renewal and the revocation of one secret more than an hour apart (docs/tokens.md)', () => {
    // Within the hour after a renewal, its token would look like the revocation's own result.
    const minutes = (e: string) => {
      const [minute, hour] = /cron: '(\d+) (\d+) /.exec(e)!.slice(1).map(Number)
      return hour! * 60 + minute!
    }
    const github = examples.filter(e => e.includes('token-secret:'))
    const renewal = github.find(e => !e.includes('revoke-tokens'))!
    const revocation = github.find(e => e.includes('revoke-tokens: true'))!
    const apart = Math.abs(minutes(renewal) - minutes(revocation))
    expect(Math.min(apart, 24 * 60 - apart)).toBeGreaterThan(60)
  })
})
