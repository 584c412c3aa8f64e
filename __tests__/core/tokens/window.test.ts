import { describe, expect, it } from '@jest/globals'
import type { Probe, WindowState } from '../../../src/core/tokens/window.ts'
import {
  DEFAULT_WINDOW_TIMING,
  initialWindow,
  judgeStored,
  observe,
  recordSent
} from '../../../src/core/tokens/window.ts'

const T = DEFAULT_WINDOW_TIMING
const accepted: Probe = { kind: 'accepted' }
const refused: Probe = { kind: 'refused' }
const transient = (retryAfterMs?: number): Probe => ({ kind: 'transient', retryAfterMs })
/** A full bucket, so the table shows the step's own waits. */
const full = { requests: 0, credit: T.burst, creditAt: 0, failures: 0 }
const waiting = (streak: number): WindowState => ({ ...full, phase: 'waiting', streak })
const verifying = (streak: number): WindowState => ({ ...full, phase: 'verifying', streak })
const poll = (random: number) => T.pollMs + Math.floor(random * T.pollJitterMs)

describe('observe: one answer in, the next step out', () => {
  it.each<[string, WindowState, Probe, number, unknown, Partial<WindowState>]>([
    [
      'an old process accepts the probe: poll on',
      waiting(1),
      accepted,
      0,
      { kind: 'wait', ms: poll(0) },
      { phase: 'waiting', streak: 0 }
    ],
    ['with the most jitter', waiting(0), accepted, 0.999, { kind: 'wait', ms: poll(0.999) }, { streak: 0 }],
    [
      'a first refusal is confirmed at once',
      waiting(0),
      refused,
      0,
      { kind: 'wait', ms: T.confirmGapMs },
      { phase: 'waiting', streak: 1 }
    ],
    [
      'refused twice in a row: mint',
      waiting(1),
      refused,
      0,
      { kind: 'mint' },
      { phase: 'verifying', streak: 0 }
    ],
    [
      'the new token accepted once: ask again at once',
      verifying(0),
      accepted,
      0,
      { kind: 'wait', ms: T.verifyGapMs },
      { streak: 1 }
    ],
    ['accepted three times in a row: store it', verifying(2), accepted, 0, { kind: 'done' }, { streak: 3 }],
    [
      'the new token refused: an old process minted it or answers; back to waiting',
      verifying(2),
      refused,
      0,
      { kind: 'wait', ms: poll(0) },
      { phase: 'waiting', streak: 0 }
    ],
    [
      'a 503 while waiting keeps the streak and backs off',
      waiting(1),
      transient(),
      0.5,
      { kind: 'wait', ms: T.pollMs + 500 },
      { streak: 1, failures: 1 }
    ],
    [
      'a 503 while verifying starts the verification over',
      verifying(2),
      transient(),
      0,
      { kind: 'wait', ms: T.pollMs },
      { phase: 'verifying', streak: 0 }
    ],
    [
      'Retry-After 0 gets the floor, not a storm',
      waiting(0),
      transient(0),
      0,
      { kind: 'wait', ms: T.pollMs },
      {}
    ],
    ['Retry-After 8 s is honoured', waiting(0), transient(8000), 0, { kind: 'wait', ms: 8000 }, {}],
    [
      'Retry-After 1 h is capped: the end must still be noticed in time',
      waiting(0),
      transient(3600_000),
      0,
      { kind: 'wait', ms: T.maxWaitMs },
      {}
    ]
  ])('%s', (_name, state, probe, random, step, next) => {
    const out = observe(state, probe, T, random, 0)
    expect(out.step).toEqual(step)
    expect(out.state).toMatchObject(next)
    expect(out.state.requests).toBe(1)
  })

  it('waits for the bucket: an empty one delays even a confirmation until a credit is back', () => {
    const empty: WindowState = { ...waiting(0), credit: 1, creditAt: 0 }
    const out = observe(empty, refused, T, 0, 0)
    expect(out.step).toEqual({ kind: 'wait', ms: Math.ceil(T.refillMs) })
  })

  it('never sends more than 20 requests in any minute, whatever the answers', () => {
    let state = initialWindow(T, 0, 2)
    const times = [0, 0]
    let now = 0
    for (let i = 0; i < 2000; i++) {
      const probe = ([refused, refused, accepted, refused, transient(0), accepted] as const)[i % 6]!
      const out = observe(state, probe, T, (i * 0.37) % 1, now)
      times.push(now)
      state = out.state
      if (out.step.kind === 'wait') now += out.step.ms
      else if (out.step.kind === 'mint') {
        state = recordSent(state, T, now)
        times.push(now)
      } else state = { ...state, phase: 'waiting', streak: 0 }
    }
    let most = 0
    for (let a = 0, b = 0; b < times.length; b++) {
      while (times[b]! - times[a]! >= 60_000) a++
      most = Math.max(most, b - a + 1)
    }
    expect(most).toBeLessThanOrEqual(20)
  })
})

describe('judgeStored: what a stored token says of an earlier run', () => {
  it.each<[string, Probe[], string]>([
    ['refused every time: rotated, the restart is over', [refused, refused, refused], 'rotated'],
    ['refused where it answered, a 503 between: rotated', [refused, transient(), refused], 'rotated'],
    ['accepted and refused: the restart is under way', [accepted, refused, accepted], 'in-window'],
    ['accepted every time: no rotation yet', [accepted, accepted, accepted], 'not-rotated'],
    ['no answer at all: nothing proves a rotation', [transient(), transient(), transient()], 'not-rotated']
  ])('%s', (_name, answers, verdict) => {
    expect(judgeStored(answers)).toBe(verdict)
  })
})
