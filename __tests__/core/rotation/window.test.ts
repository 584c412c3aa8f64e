import { describe, expect, it } from '@jest/globals'
import type { Seen, Step, WindowState } from '../../../src/core/rotation/window.ts'
import { observe, startWindow, WINDOW_TIMING } from '../../../src/core/rotation/window.ts'
import { maxPollDelay } from '../../../src/core/keyroll/timing.ts'

const status = (s: string, elapsedMs = 10_000): Seen => ({ kind: 'status', status: s, elapsedMs })
const failed = (reason = 'HTTP 502', retryAfterMs?: number): Seen => ({
  kind: 'failed',
  reason,
  retryAfterMs,
  elapsedMs: 10_000
})

/** Runs the step over a sequence of answers; returns each step's kind and what it asks next. */
function run(start: WindowState, seen: Seen[], random = 0.5): Array<[string, string?]> {
  let state = start
  const out: Array<[string, string?]> = []
  for (const s of seen) {
    const step: Step = observe(state, s, WINDOW_TIMING, random)
    state = step.state
    out.push(step.kind === 'poll' ? ['poll', step.state.ask] : [step.kind])
    if (step.kind !== 'poll') break
  }
  return out
}

describe('observe, the pure step over an update window', () => {
  it.each<[string, WindowState, Seen[], Array<[string, string?]>]>([
    [
      'Console updating, then running: the rack must then answer running twice more',
      startWindow('record', true),
      [status('updating'), status('updating'), status('running'), status('running'), status('running')],
      [['poll', 'record'], ['poll', 'record'], ['poll', 'system'], ['poll', 'system'], ['live']]
    ],
    [
      'a 401, 502 or reset from the proxied rack starts the count again',
      startWindow('record', true),
      [
        status('running'),
        status('running'),
        failed('HTTP 401'),
        status('running'),
        failed(),
        status('running'),
        status('running'),
        status('running')
      ],
      [
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['live']
      ]
    ],
    [
      'the rack back to updating resets the count',
      startWindow('system', true),
      [
        status('running'),
        status('running'),
        status('updating'),
        status('running'),
        status('running'),
        status('running')
      ],
      [
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['poll', 'system'],
        ['live']
      ]
    ],
    [
      'failed or rollback ends the window as failed',
      startWindow('record', true),
      [status('updating'), status('rollback')],
      [['poll', 'record'], ['failed']]
    ],
    [
      'running before the update was ever seen is not the end, until the grace has passed',
      startWindow('system', false),
      [
        status('running', 1000),
        status('running', 5000),
        status('running', 61_000),
        status('running', 62_000),
        status('running', 63_000)
      ],
      [['poll', 'system'], ['poll', 'system'], ['poll', 'system'], ['poll', 'system'], ['live']]
    ],
    [
      'once updating was seen, running counts at once',
      startWindow('system', false),
      [status('updating', 1000), status('running', 5000), status('running', 6000), status('running', 7000)],
      [['poll', 'system'], ['poll', 'system'], ['poll', 'system'], ['live']]
    ]
  ])('%s', (_name, start, seen, expected) => {
    expect(run(start, seen)).toEqual(expected)
  })

  it('keeps the notice under 10 s: a failed poll, then three successes at the longest delays', () => {
    let state = startWindow('system', true)
    let worst = 0
    let step = observe(state, failed(), WINDOW_TIMING, 0.999)
    worst += (step as { delayMs: number }).delayMs
    state = step.state
    for (let i = 0; i < 2; i++) {
      step = observe(state, status('running'), WINDOW_TIMING, 0.999)
      expect(step.kind).toBe('poll')
      worst += (step as { delayMs: number }).delayMs
      state = step.state
    }
    expect(observe(state, status('running'), WINDOW_TIMING, 0.999).kind).toBe('live')
    expect(worst).toBeLessThanOrEqual(maxPollDelay(WINDOW_TIMING) + 2 * 1200)
    expect(worst).toBeLessThanOrEqual(10_000)
  })

  it('polls a steady window at least pollMs apart (at most 20 requests a minute), and honours Retry-After up to its cap', () => {
    const steady = observe(startWindow('record', true), status('updating'), WINDOW_TIMING, 0)
    expect(steady.kind === 'poll' && steady.delayMs).toBeGreaterThanOrEqual(60_000 / 20 + 1)
    const waited = observe(startWindow('system', true), failed('HTTP 503', 60_000), WINDOW_TIMING, 0)
    expect(waited.kind === 'poll' && waited.delayMs).toBe(maxPollDelay(WINDOW_TIMING))
    expect(waited.state.lastError).toBe('HTTP 503')
  })
})
