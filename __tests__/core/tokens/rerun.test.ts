import { describe, expect, it } from '@jest/globals'
import type { Lifetime } from '../../../src/core/tokens/rerun.ts'
import { lifetimeOf, resumeFrom } from '../../../src/core/tokens/rerun.ts'
import type { Probe } from '../../../src/core/tokens/window.ts'

const H = 3600_000
const M = 60_000
const accepted: Probe = { kind: 'accepted' }
const refused: Probe = { kind: 'refused' }
const transient: Probe = { kind: 'transient' }

describe('lifetimeOf: which stage of a revocation a stored token is, by what is left of it', () => {
  // probe 2 h, interim 3 h, final 8 h.
  it.each<[string, number, Lifetime]>([
    ['a probe just minted', 2 * H, 'probe'],
    ['a probe 54 minutes old', 2 * H - 54 * M, 'probe'],
    ['a probe minted on a rack whose clock is 4 minutes ahead', 2 * H + 4 * M, 'probe'],
    ['an interim token just minted', 3 * H, 'interim'],
    ['an interim token 50 minutes old', 3 * H - 50 * M, 'interim'],
    ['a final token just minted', 8 * H, 'final'],
    ['a final token 54 minutes old', 8 * H - 54 * M, 'final'],
    ['a final token 2 hours old (a renewal, or an older run)', 6 * H, 'older'],
    ['a token longer than any this option mints', 9 * H, 'older'],
    ['a token with a minute left', M, 'older'],
    ['an expired token', -1, 'expired'],
    ['a token expiring now', 0, 'expired']
  ])('%s', (_name, left, lifetime) => {
    expect(lifetimeOf(left, 8, 2)).toBe(lifetime)
  })

  it('tells the three stages apart for the first 55 minutes of each, at the shortest final lifetime', () => {
    for (let age = 0; age < 55 * M; age += M) {
      expect(lifetimeOf(2 * H - age, 4, 2)).toBe('probe')
      expect(lifetimeOf(3 * H - age, 4, 2)).toBe('interim')
      expect(lifetimeOf(4 * H - age, 4, 2)).toBe('final')
    }
  })
})

describe('resumeFrom: where a rerun picks up', () => {
  const all = (probe: Probe) => Array.from({ length: 8 }, () => probe)
  it.each<[string, Lifetime, Probe[], unknown]>([
    ['nothing to ask: an expired token', 'expired', [], { kind: 'start', why: 'expired' }],
    ['the final token, accepted: the earlier run finished', 'final', all(accepted), { kind: 'done' }],
    [
      'the final token, refused everywhere: a rotation since; it is the probe',
      'final',
      all(refused),
      { kind: 'window', everywhere: true }
    ],
    [
      'the probe, accepted everywhere: stopped at the rotation, watch for a first restart',
      'probe',
      all(accepted),
      { kind: 'await' }
    ],
    [
      'the probe, refused once: the restart is under way',
      'probe',
      [...all(accepted).slice(1), refused],
      { kind: 'window', everywhere: false }
    ],
    [
      'the probe, refused where it answered: rotated, restart over',
      'probe',
      [refused, transient, refused],
      { kind: 'window', everywhere: true }
    ],
    [
      'the interim token, accepted everywhere: still of either key',
      'interim',
      all(accepted),
      { kind: 'settle' }
    ],
    ['the interim token, refused everywhere', 'interim', all(refused), { kind: 'settle' }],
    ['the interim token, both', 'interim', [accepted, refused], { kind: 'settle' }],
    [
      'an older token, accepted: a new revocation',
      'older',
      all(accepted),
      { kind: 'start', why: 'older-accepted' }
    ],
    ['an older token, refused: rotated since', 'older', all(refused), { kind: 'window', everywhere: true }],
    ['no answer at all: nothing can be told', 'probe', all(transient), { kind: 'unanswered' }]
  ])('%s', (_name, lifetime, answers, resume) => {
    expect(resumeFrom(lifetime, answers)).toEqual(resume)
  })
})
