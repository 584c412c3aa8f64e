import { describe, expect, it } from '@jest/globals'
import type { Observation, Step, WatchPlan, WatchState } from '../../../src/core/keyroll/observe.ts'
import { observe, startWatch } from '../../../src/core/keyroll/observe.ts'
import type { Probe } from '../../../src/core/keyroll/probe.ts'
import { DEFAULT_KEYROLL_TIMING, maxPollDelay } from '../../../src/core/keyroll/timing.ts'

/**
 * The watch's decisions as tables: each row a state and one probe's answer, and the step that
 * must follow (the next state and what to do, or the end, with every line to log). The loop
 * around `observe` (watch.ts) is run against a rack by keyroll.test.ts and the end-to-end tests.
 */

const timing = DEFAULT_KEYROLL_TIMING
/** 23.6 s with the defaults: a line is due once the next poll could take the gap past 30 s. */
const PROGRESS_DUE = timing.progressMs - maxPollDelay(timing)

const PLAN: WatchPlan = {
  deadline: 600_000,
  started: true,
  what: 'the rack to take the new key',
  timing,
  timeoutMs: 30 * 60_000,
  startedAt: 0
}

/** A watch that started at 0 and polled uneventfully for a while; rows change what they test. */
const STATE: WatchState = { ...startWatch(0), lastProgress: 10_000, lastOldProbe: 10_000 }

const NOW = 20_000
const POLL = 7

const running: Probe = { kind: 'accepted', status: 'running', version: '20240101000000' }
const updating: Probe = { kind: 'accepted', status: 'updating', version: '20240101000000' }
const rollback: Probe = { kind: 'accepted', status: 'rollback', version: '20240101000000' }
const failedRack: Probe = { kind: 'accepted', status: 'failed', version: '20240101000000' }
const refused: Probe = { kind: 'rejected' }
const unavailable: Probe = { kind: 'failed', reason: 'HTTP 503', transient: true, retryAfterMs: 5000 }
const reset: Probe = { kind: 'failed', reason: 'connection reset', transient: true }

const debug = (message: string) => ({ level: 'debug', message })
const info = (message: string) => ({ level: 'info', message })
const pollLine = (newKey: string, rack = 'unknown') =>
  debug(`Keyroll poll ${POLL}: new key ${newKey}, rack ${rack}.`)
const ACCEPTED_LINE = info('The rack accepts the new key (20s in); making sure it keeps doing so.')

interface Row {
  name: string
  plan?: Partial<WatchPlan>
  state?: Partial<WatchState>
  seen: Pick<Observation, 'key' | 'probe'> & { now?: number }
  /** The whole step; a next state is written as what changed from the row's state. */
  step: { log: unknown[] } & ({ state: Partial<WatchState>; next: unknown } | { end: unknown })
}

function check(row: Row): void {
  const state = { ...STATE, ...row.state }
  const step: Step = observe({ ...PLAN, ...row.plan }, state, { now: NOW, poll: POLL, ...row.seen })
  const expected = 'end' in row.step ? row.step : { ...row.step, state: { ...state, ...row.step.state } }
  expect(step).toEqual(expected)
}

describe('observe: the new key accepted', () => {
  it.each<Row>([
    {
      name: 'the first time, running: says so and confirms soon',
      seen: { key: 'new', probe: running },
      step: {
        log: [ACCEPTED_LINE, debug('Rack status: running.'), pollLine('accepted', 'running')],
        state: { everAccepted: true, consecutive: 1, status: 'running' },
        next: { kind: 'wait', result: 'confirm', failures: 0 }
      }
    },
    {
      name: 'twice in a row, running: the key is live',
      state: { everAccepted: true, consecutive: 1, status: 'running' },
      seen: { key: 'new', probe: running },
      step: { log: [], end: { kind: 'live' } }
    },
    {
      name: 'after an accepted poll while updating, running: live (two acceptances, the last running)',
      state: { everAccepted: true, consecutive: 1, status: 'updating', sawChange: true },
      seen: { key: 'new', probe: running },
      step: { log: [debug('Rack status: running.')], end: { kind: 'live' } }
    },
    {
      name: 'while updating: a change seen, steady polling',
      seen: { key: 'new', probe: updating },
      step: {
        log: [ACCEPTED_LINE, debug('Rack status: updating.'), pollLine('accepted', 'updating')],
        state: { everAccepted: true, consecutive: 1, status: 'updating', sawChange: true },
        next: { kind: 'wait', result: 'steady', failures: 0 }
      }
    },
    {
      name: 'while rolling back: the same, never live',
      state: { everAccepted: true, consecutive: 3, status: 'rollback', sawChange: true },
      seen: { key: 'new', probe: rollback },
      step: {
        log: [pollLine('accepted', 'rollback')],
        state: { consecutive: 4 },
        next: { kind: 'wait', result: 'steady', failures: 0 }
      }
    },
    {
      name: 'with the rack failed: the end, failed',
      seen: { key: 'new', probe: failedRack },
      step: { log: [ACCEPTED_LINE, debug('Rack status: failed.')], end: { kind: 'failed' } }
    },
    {
      name: 'after failures and old-key checks: both counts start again',
      state: { failures: 4, notStarted: 1, status: 'running', lastError: 'HTTP 502' },
      seen: { key: 'new', probe: running },
      step: {
        log: [ACCEPTED_LINE, pollLine('accepted', 'running')],
        state: { everAccepted: true, consecutive: 1, failures: 0, notStarted: 0 },
        next: { kind: 'wait', result: 'confirm', failures: 0 }
      }
    }
  ])('$name', check)
})

describe('observe: the new key refused (401)', () => {
  const counted = { consecutive: 0, failures: 1, lastError: 'new key refused (401)' }
  it.each<Row>([
    {
      name: 'whether a roll started is open (no ok to the PUT, nothing seen): ask the old key',
      plan: { started: false },
      seen: { key: 'new', probe: refused },
      step: { log: [], state: { ...counted, lastOldProbe: NOW }, next: { kind: 'ask-old' } }
    },
    {
      name: 'the PUT answered ok, old key asked recently: back off',
      state: { lastOldProbe: NOW - timing.oldKeyProbeMs + 1 },
      seen: { key: 'new', probe: refused },
      step: {
        log: [pollLine('rejected')],
        state: counted,
        next: { kind: 'wait', result: 'failed', failures: 1 }
      }
    },
    {
      name: 'the PUT answered ok, old key not asked for oldKeyProbeMs: ask it (a rollback?)',
      state: { lastOldProbe: NOW - timing.oldKeyProbeMs },
      seen: { key: 'new', probe: refused },
      step: { log: [], state: { ...counted, lastOldProbe: NOW }, next: { kind: 'ask-old' } }
    },
    {
      name: 'the old key was found running on the last poll: ask it again',
      state: { notStarted: 1, status: 'running' },
      seen: { key: 'new', probe: refused },
      step: { log: [], state: { ...counted, lastOldProbe: NOW }, next: { kind: 'ask-old' } }
    },
    {
      name: 'no ok to the PUT, but a change seen: the old key only every oldKeyProbeMs',
      plan: { started: false },
      state: { sawChange: true, status: 'updating' },
      seen: { key: 'new', probe: refused },
      step: {
        log: [pollLine('rejected', 'updating')],
        state: counted,
        next: { kind: 'wait', result: 'failed', failures: 1 }
      }
    },
    {
      name: 'the new key was accepted before: never the old key, even with the question open',
      plan: { started: false },
      state: { everAccepted: true, consecutive: 1, status: 'running', lastOldProbe: 0 },
      seen: { key: 'new', probe: refused },
      step: {
        log: [pollLine('rejected', 'running')],
        state: counted,
        next: { kind: 'wait', result: 'failed', failures: 1 }
      }
    },
    {
      name: 'refused again: the backoff grows',
      state: { failures: 3, lastError: 'HTTP 502' },
      seen: { key: 'new', probe: refused },
      step: {
        log: [pollLine('rejected')],
        state: { ...counted, failures: 4 },
        next: { kind: 'wait', result: 'failed', failures: 4 }
      }
    }
  ])('$name', check)
})

describe('observe: no answer about the new key (5xx, 429, network)', () => {
  it.each<Row>([
    {
      name: 'a 503 with Retry-After: honoured, the old key not asked, its run of checks broken',
      plan: { started: false },
      state: { notStarted: 1, failures: 1, consecutive: 1, status: 'running' },
      seen: { key: 'new', probe: unavailable },
      step: {
        log: [pollLine('failed (HTTP 503)', 'running')],
        state: { consecutive: 0, failures: 2, notStarted: 0, lastError: 'HTTP 503' },
        next: { kind: 'wait', result: 'failed', failures: 2, retryAfterMs: 5000 }
      }
    },
    {
      name: 'a reset: backs off without a Retry-After',
      seen: { key: 'new', probe: reset },
      step: {
        log: [pollLine('failed (connection reset)')],
        state: { failures: 1, lastError: 'connection reset' },
        next: { kind: 'wait', result: 'failed', failures: 1, retryAfterMs: undefined }
      }
    }
  ])('$name', check)
})

describe('observe: the old key, asked after the new key was refused', () => {
  // The state as the new key's refusal left it.
  const asked = { failures: 2, lastError: 'new key refused (401)', lastOldProbe: NOW }
  it.each<Row>([
    {
      name: 'running with the old key once: not started yet, ask again next poll',
      plan: { started: false },
      state: asked,
      seen: { key: 'old', probe: running },
      step: {
        log: [pollLine('rejected', 'running')],
        state: { oldEverAccepted: true, status: 'running', notStarted: 1 },
        next: { kind: 'wait', result: 'failed', failures: 2 }
      }
    },
    {
      name: 'running with the old key twice, no ok to the PUT: the roll did not start',
      plan: { started: false },
      state: { ...asked, notStarted: 1, oldEverAccepted: true, status: 'running' },
      seen: { key: 'old', probe: running },
      step: { log: [], end: { kind: 'not-started', sawChange: false } }
    },
    {
      name: 'running with the old key twice after an ok, nothing seen: no reason to act, keep watching',
      state: { ...asked, notStarted: 1, oldEverAccepted: true, status: 'running' },
      seen: { key: 'old', probe: running },
      step: {
        log: [pollLine('rejected', 'running')],
        state: { notStarted: 2 },
        next: { kind: 'wait', result: 'failed', failures: 2 }
      }
    },
    {
      name: 'running with the old key twice after a change: rolled back',
      state: { ...asked, notStarted: 1, oldEverAccepted: true, status: 'running', sawChange: true },
      seen: { key: 'old', probe: running },
      step: { log: [], end: { kind: 'not-started', sawChange: true } }
    },
    {
      name: 'updating: the roll is under way',
      plan: { started: false },
      state: { ...asked, notStarted: 1, status: 'running' },
      seen: { key: 'old', probe: updating },
      step: {
        log: [pollLine('rejected', 'updating')],
        state: { oldEverAccepted: true, status: 'updating', notStarted: 0, sawChange: true },
        next: { kind: 'wait', result: 'failed', failures: 2 }
      }
    },
    {
      name: 'failed: the end, failed',
      state: asked,
      seen: { key: 'old', probe: failedRack },
      step: { log: [], end: { kind: 'failed' } }
    },
    {
      name: 'refused too: the rack has changed',
      plan: { started: false },
      state: { ...asked, notStarted: 1, status: 'running' },
      seen: { key: 'old', probe: refused },
      step: {
        log: [pollLine('rejected', 'running')],
        state: { sawChange: true, notStarted: 0 },
        next: { kind: 'wait', result: 'failed', failures: 2 }
      }
    },
    {
      name: 'no answer: tells nothing, but breaks the run of running checks',
      plan: { started: false },
      state: { ...asked, notStarted: 1, status: 'running' },
      seen: { key: 'old', probe: reset },
      step: {
        log: [pollLine('rejected', 'running')],
        state: { notStarted: 0 },
        next: { kind: 'wait', result: 'failed', failures: 2 }
      }
    }
  ])('$name', check)
})

describe('observe: the deadline', () => {
  const late = { now: PLAN.deadline }
  it.each<Row>([
    {
      name: 'reached after a refused poll: the end, with what was seen',
      state: { oldEverAccepted: true, status: 'updating', sawChange: true, lastOldProbe: PLAN.deadline - 1 },
      seen: { key: 'new', probe: refused, ...late },
      step: {
        log: [pollLine('rejected', 'updating')],
        end: {
          kind: 'timeout',
          everAccepted: false,
          oldEverAccepted: true,
          status: 'updating',
          lastError: 'new key refused (401)'
        }
      }
    },
    {
      name: 'reached on the old key’s answer: its status is the last seen',
      plan: { started: false },
      state: { failures: 1, lastError: 'new key refused (401)' },
      seen: { key: 'old', probe: updating, ...late },
      step: {
        log: [pollLine('rejected', 'updating')],
        end: {
          kind: 'timeout',
          everAccepted: false,
          oldEverAccepted: true,
          status: 'updating',
          lastError: 'new key refused (401)'
        }
      }
    },
    {
      name: 'reached on the confirming check: live wins',
      state: { everAccepted: true, consecutive: 1, status: 'running' },
      seen: { key: 'new', probe: running, ...late },
      step: { log: [], end: { kind: 'live' } }
    },
    {
      name: 'reached while the new key works but the rack updates: the end, accepted at times',
      state: { everAccepted: true, consecutive: 1, status: 'updating', lastError: 'HTTP 502' },
      seen: { key: 'new', probe: updating, ...late },
      step: {
        log: [pollLine('accepted', 'updating')],
        end: {
          kind: 'timeout',
          everAccepted: true,
          oldEverAccepted: false,
          status: 'updating',
          lastError: 'HTTP 502'
        }
      }
    },
    {
      name: 'reached when a progress line is due too: the end, no progress line',
      state: { lastProgress: PLAN.deadline - timing.progressMs },
      seen: { key: 'new', probe: reset, ...late },
      step: {
        log: [pollLine('failed (connection reset)')],
        end: {
          kind: 'timeout',
          everAccepted: false,
          oldEverAccepted: false,
          status: undefined,
          lastError: 'connection reset'
        }
      }
    }
  ])('$name', check)
})

describe('observe: progress lines', () => {
  const due = { lastProgress: NOW - PROGRESS_DUE }
  const progress = (rack: string, key: string, error: string) =>
    info(
      `Keyroll: 20s of 30m waiting for the rack to take the new key; rack ${rack}; new key ${key}; last error: ${error}.`
    )
  it.each<Row>([
    {
      name: 'due: a line with what is known, the last error then forgotten',
      state: { ...due, status: 'updating', sawChange: true },
      seen: { key: 'new', probe: refused },
      step: {
        log: [
          pollLine('rejected', 'updating'),
          progress('updating', 'not accepted yet', 'new key refused (401)')
        ],
        state: { consecutive: 0, failures: 1, lastProgress: NOW, lastError: undefined },
        next: { kind: 'wait', result: 'failed', failures: 1 }
      }
    },
    {
      name: 'a millisecond before due: no line, the last error kept',
      state: { lastProgress: NOW - PROGRESS_DUE + 1, status: 'updating', sawChange: true },
      seen: { key: 'new', probe: refused },
      step: {
        log: [pollLine('rejected', 'updating')],
        state: { failures: 1, lastError: 'new key refused (401)' },
        next: { kind: 'wait', result: 'failed', failures: 1 }
      }
    },
    {
      name: 'due after the old key’s answer: the status it told',
      plan: { started: false },
      state: { ...due, failures: 1, lastError: 'new key refused (401)' },
      seen: { key: 'old', probe: running },
      step: {
        log: [
          pollLine('rejected', 'running'),
          progress('running', 'not accepted yet', 'new key refused (401)')
        ],
        state: {
          oldEverAccepted: true,
          status: 'running',
          notStarted: 1,
          lastProgress: NOW,
          lastError: undefined
        },
        next: { kind: 'wait', result: 'failed', failures: 1 }
      }
    },
    {
      name: 'due with the new key accepted on this poll, status not known before',
      state: { ...due, everAccepted: true },
      seen: { key: 'new', probe: updating },
      step: {
        log: [
          debug('Rack status: updating.'),
          pollLine('accepted', 'updating'),
          progress('updating', 'accepted', 'none')
        ],
        state: {
          consecutive: 1,
          status: 'updating',
          sawChange: true,
          lastProgress: NOW
        },
        next: { kind: 'wait', result: 'steady', failures: 0 }
      }
    },
    {
      name: 'due with the new key accepted before but not now, and no status yet',
      state: { ...due, everAccepted: true, lastError: 'HTTP 502' },
      seen: { key: 'new', probe: reset },
      step: {
        log: [
          pollLine('failed (connection reset)'),
          progress('status not known yet', 'accepted before, not on the last check', 'connection reset')
        ],
        state: { failures: 1, lastProgress: NOW, lastError: undefined },
        next: { kind: 'wait', result: 'failed', failures: 1, retryAfterMs: undefined }
      }
    }
  ])('$name', check)
})

describe('a watch as a run of steps', () => {
  function run(plan: WatchPlan, answers: Array<Pick<Observation, 'probe' | 'now'>>): Step {
    let state = startWatch(0)
    let key: Observation['key'] = 'new'
    let step: Step | undefined
    for (const answer of answers) {
      step = observe(plan, state, { key, poll: POLL, ...answer })
      if ('end' in step) return step
      state = step.state
      key = step.next.kind === 'ask-old' ? 'old' : 'new'
    }
    return step!
  }

  it('starts with nothing seen, both clocks at the start', () => {
    expect(startWatch(1234)).toEqual({
      everAccepted: false,
      consecutive: 0,
      failures: 0,
      notStarted: 0,
      sawChange: false,
      oldEverAccepted: false,
      lastOldProbe: 1234,
      lastProgress: 1234
    })
  })

  it('a lost PUT answer and a rack running on the old key twice: not started', () => {
    const step = run({ ...PLAN, started: false }, [
      { probe: refused, now: 6000 },
      { probe: running, now: 6100 },
      { probe: refused, now: 11_000 },
      { probe: running, now: 11_100 }
    ])
    expect(step).toEqual({ log: [], end: { kind: 'not-started', sawChange: false } })
  })

  it('a window of refusals and errors, then the new key on two checks: live', () => {
    const step = run(PLAN, [
      { probe: refused, now: 6000 },
      { probe: unavailable, now: 11_000 },
      { probe: reset, now: 17_000 },
      { probe: running, now: 22_000 },
      { probe: running, now: 23_500 }
    ])
    expect(step).toEqual({ log: [], end: { kind: 'live' } })
  })
})
