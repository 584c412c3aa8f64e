import { describe, expect, it } from '@jest/globals'
import type { Probe, WindowState } from '../../../src/core/tokens/window.ts'
import { DEFAULT_WINDOW_TIMING, initialWindow, observe, recordSent } from '../../../src/core/tokens/window.ts'

const T = DEFAULT_WINDOW_TIMING
const accepted: Probe = { kind: 'accepted' }
const refused: Probe = { kind: 'refused' }
const transient = (retryAfterMs?: number): Probe => ({ kind: 'transient', retryAfterMs })
/** A full bucket, so the table shows the step's own waits. */
const full = { requests: 0, credit: T.burst, creditAt: 0, failures: 0, streak: 0, held: 0, refusals: 0 }
const waiting: WindowState = { ...full, phase: 'waiting', asking: 'probe' }
const verifying = (streak: number): WindowState => ({ ...full, phase: 'verifying', asking: 'token', streak })
const watching = (asking: 'probe' | 'token', held: number, refusals: number): WindowState => ({
  ...full,
  phase: 'watching',
  asking,
  held,
  refusals
})
/** A rerun watching the stored probe for a first restart until 10 s. */
const awaiting: WindowState = { ...waiting, rotateBy: 10_000 }
const finishing: WindowState = { ...full, phase: 'finishing', asking: 'token' }
/** A rerun that settles for 60 s: the stored token got `kind` `count` times in a row since 0. */
const settling = (kind: 'accepted' | 'refused', count: number): WindowState => ({
  ...full,
  phase: 'settling',
  asking: 'probe',
  settleFor: 60_000,
  run: { kind, count, since: 0 }
})
const poll = (random: number) => T.pollMs + Math.floor(random * T.pollJitterMs)
const F = T.finishCount

describe('observe: one answer in, the next step out', () => {
  it.each<[string, WindowState, Probe, number, unknown, Partial<WindowState>, number?]>([
    [
      'an old process accepts the probe: poll on',
      waiting,
      accepted,
      0,
      { kind: 'wait', ms: poll(0) },
      { phase: 'waiting', asking: 'probe' }
    ],
    ['with the most jitter', waiting, accepted, 0.999, { kind: 'wait', ms: poll(0.999) }, {}],
    [
      'a new process refuses the probe once: mint at once, a token minted now may be of the new key',
      waiting,
      refused,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'verifying', asking: 'token', streak: 0 }
    ],
    [
      'the new token accepted: store it at once, then watch it first',
      verifying(0),
      accepted,
      0,
      { kind: 'store', ms: poll(0) },
      { phase: 'watching', asking: 'token', held: 1, refusals: 0 }
    ],
    [
      'the new token refused (an old-key mint, or an old process): mint another at once',
      verifying(0),
      refused,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'verifying', streak: 0 }
    ],
    [
      'watching, the stored token accepted: the probe next',
      watching('token', 3, 2),
      accepted,
      0,
      { kind: 'wait', ms: poll(0) },
      { phase: 'watching', asking: 'probe', held: 4, refusals: 2 }
    ],
    [
      'watching, the probe refused: agrees with a new-key token; the stored token next',
      watching('probe', 3, 2),
      refused,
      0,
      { kind: 'wait', ms: poll(0) },
      { asking: 'token', held: 3, refusals: 3 }
    ],
    [
      'watching, the probe accepted: an old process answers, the stretch starts over',
      watching('probe', F, F - 1),
      accepted,
      0,
      { kind: 'wait', ms: poll(0) },
      { phase: 'watching', asking: 'token', held: 0, refusals: 0 }
    ],
    [
      'watching, the stored token refused: replace it',
      watching('token', F - 1, F),
      refused,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'verifying', asking: 'token', held: 0, refusals: 0 }
    ],
    [
      'the last refusal of the probe the stretch needs: the restart is over, mint the final token',
      watching('probe', F, F - 1),
      refused,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'finishing', asking: 'token' }
    ],
    [
      'the last acceptance the stretch needs: mint the final token',
      watching('token', F - 1, F),
      accepted,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'finishing', asking: 'token' }
    ],
    ['the final token accepted: store it, done', finishing, accepted, 0, { kind: 'finish' }, {}],
    [
      'the final token refused (a late old process): mint it again',
      finishing,
      refused,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'finishing' }
    ],
    [
      'a rerun awaiting a first restart, the probe accepted before the deadline: poll on',
      awaiting,
      accepted,
      0,
      { kind: 'wait', ms: poll(0) },
      { phase: 'waiting', rotateBy: 10_000 },
      9_999
    ],
    [
      'the probe still accepted at the deadline: no rotation happened, rotate now',
      awaiting,
      accepted,
      0,
      { kind: 'rotate', ms: 0 },
      { phase: 'waiting', rotateBy: undefined },
      10_000
    ],
    [
      'the probe refused, even after the deadline: the earlier run rotated; mint, never rotate',
      awaiting,
      refused,
      0,
      { kind: 'mint', ms: 0 },
      { phase: 'verifying', rotateBy: undefined },
      20_000
    ],
    [
      'a 503 while waiting backs off',
      waiting,
      transient(),
      0.5,
      { kind: 'wait', ms: T.pollMs + 500 },
      { phase: 'waiting', failures: 1 }
    ],
    [
      'a 503 while watching changes nothing of the stretch',
      watching('token', 3, 3),
      transient(),
      0,
      { kind: 'wait', ms: T.pollMs },
      { asking: 'token', held: 3, refusals: 3, failures: 1 }
    ],
    [
      'Retry-After 0 gets the floor, not a storm',
      waiting,
      transient(0),
      0,
      { kind: 'wait', ms: T.pollMs },
      {}
    ],
    ['Retry-After 8 s is honoured', waiting, transient(8000), 0, { kind: 'wait', ms: 8000 }, {}],
    [
      'Retry-After 1 h is capped: the end must still be noticed in time',
      waiting,
      transient(3600_000),
      0,
      { kind: 'wait', ms: T.maxWaitMs },
      {}
    ]
  ])('%s', (_name, state, probe, random, step, next, sentAt = 0) => {
    const out = observe(state, probe, T, random, sentAt)
    expect(out.step).toEqual(step)
    expect(out.state).toMatchObject(next)
    expect(out.state.requests).toBe(1)
  })

  // A rerun settling an interim token (settleFor 60 s): [name, the run so far, answer, sent at, step, next].
  it.each<[string, [Probe['kind'] & string, number], Probe, number, unknown, Partial<WindowState>]>([
    [
      'agreeing, not yet for long enough: poll on',
      ['accepted', F],
      accepted,
      59_999,
      { kind: 'wait', ms: poll(0) },
      { phase: 'settling', run: { kind: 'accepted', count: F + 1, since: 0 } }
    ],
    [
      'a disagreeing answer starts the run over',
      ['accepted', 40],
      refused,
      70_000,
      { kind: 'wait', ms: poll(0) },
      { phase: 'settling', run: { kind: 'refused', count: 1, since: 70_000 } }
    ],
    [
      'settled accepted: of the new key, mint the final token',
      ['accepted', F - 1],
      accepted,
      60_000,
      { kind: 'mint', ms: 0 },
      { phase: 'finishing', asking: 'token', settleFor: undefined }
    ],
    [
      'settled refused: of the old key, the probe from now on',
      ['refused', F - 1],
      refused,
      60_000,
      { kind: 'mint', ms: 0 },
      { phase: 'verifying', asking: 'token', settleFor: undefined }
    ],
    [
      'long enough but too few answers (a slow rack): ask on',
      ['accepted', F - 3],
      accepted,
      90_000,
      { kind: 'wait', ms: poll(0) },
      { phase: 'settling' }
    ]
  ])('settling: %s', (_name, [kind, count], probe, sentAt, step, next) => {
    const out = observe(settling(kind as 'accepted' | 'refused', count), probe, T, 0, sentAt)
    expect(out.step).toEqual(step)
    expect(out.state).toMatchObject(next)
  })

  it('verifies several times when told to, a failure starting the count over', () => {
    const three = { ...T, verifyCount: 3 }
    expect(observe(verifying(1), accepted, three, 0, 0)).toMatchObject({
      state: { phase: 'verifying', streak: 2 },
      step: { kind: 'wait', ms: T.verifyGapMs }
    })
    expect(observe(verifying(2), accepted, three, 0, 0).step.kind).toBe('store')
    expect(observe(verifying(2), transient(), three, 0, 0).state).toMatchObject({
      phase: 'verifying',
      streak: 0
    })
  })

  it('keeps the reserve for the burst: a routine poll waits, a mint goes with the last credit', () => {
    // One credit after the answered request: a routine poll needs 1 + reserve.
    const low = (state: WindowState): WindowState => ({ ...state, credit: 1 + T.reserve - 0.5 + 1 })
    const poll0 = observe(low(waiting), accepted, T, 0, 0)
    expect(poll0.step).toEqual({ kind: 'wait', ms: Math.max(poll(0), Math.ceil(0.5 * T.refillMs)) })
    const mint = observe(low(waiting), refused, T, 0, 0)
    expect(mint.step).toEqual({ kind: 'mint', ms: 0 })
    // With the bucket empty, even a mint waits for a whole credit.
    const empty = observe({ ...waiting, credit: 1 }, refused, T, 0, 0)
    expect(empty.step).toEqual({ kind: 'mint', ms: Math.ceil(T.refillMs) })
  })

  it('never sends more than 20 requests in any minute, whatever the answers', () => {
    const answers = [refused, accepted, refused, refused, transient(0), accepted, refused, accepted, accepted]
    for (let offset = 0; offset < answers.length; offset++) {
      let state = initialWindow(T, 0, 2)
      const times = [0, 0]
      let now = 0
      for (let i = 0; i < 2000; i++) {
        const out = observe(state, answers[(i + offset) % answers.length]!, T, (i * 0.37) % 1, now)
        times.push(now)
        state = out.state
        if (out.step.kind === 'finish') state = { ...state, phase: 'waiting', asking: 'probe' }
        else now += out.step.ms
        if (out.step.kind === 'mint') {
          state = recordSent(state, T, now)
          times.push(now)
        }
      }
      let most = 0
      for (let a = 0, b = 0; b < times.length; b++) {
        while (times[b]! - times[a]! >= 60_000) a++
        most = Math.max(most, b - a + 1)
      }
      expect(most).toBeLessThanOrEqual(20)
    }
  })
})
