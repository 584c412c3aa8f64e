import { describe, expect, it } from '@jest/globals'
import { ACTOR_MAX_LENGTH, actorHeader, cleanActor, deriveActor, resolveActor } from '../../src/core/actor.ts'

/** The audit actor: cleaned as the rack cleans it (pkg/audit/sanitize.go), derived from the run. */

const RUN = { repository: 'acme/app', workflow: 'Deploy', runId: '123456', runAttempt: '2', user: 'octocat' }

describe('cleanActor', () => {
  it('removes control characters, separators, zero-width and bidirectional marks', () => {
    expect(cleanActor('a\u0000b\tc\nd\re\u001bf\u007fg\u0085h')).toBe('abcdefgh')
    expect(cleanActor('x\u2028y\u2029z\ufeff\u200bw\u200fv\u202eu\u2066t\u2069s')).toBe('xyzwvuts')
  })

  it('keeps other text, including letters outside ASCII', () => {
    expect(cleanActor('Déploiement 🚀 by José')).toBe('Déploiement 🚀 by José')
  })

  it(`keeps at most ${ACTOR_MAX_LENGTH} code points, counted after cleaning`, () => {
    expect(cleanActor('x'.repeat(300))).toBe('x'.repeat(256))
    expect(cleanActor('\u0001'.repeat(10) + 'y'.repeat(300))).toBe('y'.repeat(256))
    // An astral character is one code point (two UTF-16 units), as a Go rune is one.
    expect([...cleanActor('🚀'.repeat(300))]).toHaveLength(256)
  })

  it('is empty for white space and controls alone, and trims', () => {
    expect(cleanActor(' \u0001\u200b ')).toBe('')
    expect(cleanActor('  ops  ')).toBe('ops')
  })
})

describe('deriveActor', () => {
  it('names the repository, the workflow, the run and attempt, and who triggered it', () => {
    expect(deriveActor(RUN)).toBe('acme/app, workflow "Deploy", run 123456 attempt 2, by octocat')
  })

  it('leaves out what the CI does not say, and is empty outside one', () => {
    expect(deriveActor({ repository: 'acme/app', runId: '7' })).toBe('acme/app, run 7')
    expect(deriveActor({})).toBe('')
  })

  it('cleans what the run names: a workflow name is the user’s text', () => {
    expect(deriveActor({ ...RUN, workflow: 'De\nploy\u202e', user: 'x'.repeat(300) })).toHaveLength(256)
    expect(deriveActor({ ...RUN, workflow: 'De\nploy\u202e' })).toContain('workflow "Deploy"')
  })
})

describe('resolveActor', () => {
  it('derives the actor when the input is empty, for this step and later ones', () => {
    expect(resolveActor({ input: '', run: RUN })).toEqual({ value: deriveActor(RUN), export: true })
  })

  it('takes the input, cleaned', () => {
    expect(resolveActor({ input: 'release-bot\u0007', run: RUN })).toEqual({
      value: 'release-bot',
      export: true
    })
  })

  it('uses the job’s CONVOX_ACTOR for its own requests and does not export over it', () => {
    expect(resolveActor({ input: '', jobActor: 'ops@example.com', run: RUN })).toEqual({
      value: 'ops@example.com',
      export: false
    })
    expect(resolveActor({ input: 'bot', jobActor: 'ops@example.com', run: RUN })).toEqual({
      value: 'bot',
      export: false
    })
    expect(resolveActor({ input: '', jobActor: ' \u0001 ', run: RUN })).toEqual({
      value: deriveActor(RUN),
      export: true
    })
  })

  it('sends and exports nothing with none, or outside a CI that names the run', () => {
    expect(resolveActor({ input: 'none', jobActor: 'ops', run: RUN })).toEqual({ value: '', export: false })
    expect(resolveActor({ input: '', run: {} })).toEqual({ value: '', export: false })
  })
})

describe('actorHeader', () => {
  it('sends printable ASCII as it is and anything else as ?', () => {
    expect(actorHeader('acme/app, workflow "Deploy", run 1, by octocat')).toBe(
      'acme/app, workflow "Deploy", run 1, by octocat'
    )
    expect(actorHeader('José 🚀')).toBe('Jos? ?')
  })
})
