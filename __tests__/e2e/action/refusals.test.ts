import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { tokenFor } from '../../../test-support/rack-tokens.ts'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import { filesContaining, runnerPool, runStep } from '../../../test-support/run-action.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'

/**
 * Decide before writing, for the action (dist/index.cjs as a runner runs it): a keyroll the host
 * will refuse, and a runner without RUNNER_TEMP, fail the step with one sentence while the
 * settings directory, RUNNER_TEMP, the exported variables and the outputs are as they were.
 */

const RACK_KEY = 'ActionRefusalRackKey0123456789ab'
const CONSOLE_TOKEN = 'ActionRefusalConsoleToken012345'
const SIGNING_KEY = 'action-refusal-signing-key-0123'

let consoleHost: FakeConvox
let v2Rack: FakeConvox
let v3Rack: FakeConvox
const { fresh, removeAll } = runnerPool()

beforeAll(async () => {
  ;[consoleHost, v2Rack, v3Rack] = await Promise.all([
    startFakeConvox({ kind: 'console', users: [{ token: CONSOLE_TOKEN, id: 'user-3' }] }),
    startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } }),
    startFakeConvox({
      kind: 'rack',
      rack: { password: RACK_KEY, version: '3.24.9' },
      tokens: { signingKey: SIGNING_KEY }
    })
  ])
})

afterAll(async () => {
  await Promise.all([consoleHost.close(), v2Rack.close(), v3Rack.close()])
  removeAll()
})

const settingsDir = (runner: Runner) => path.join(runner.home, '.convox')

function expectNothingWritten(step: StepResult, runner: Runner, secret: string, error: RegExp): void {
  expect(step.code).toBe(1)
  expect(step.error).toMatch(error)
  expect(step.error).not.toMatch(/Unexpected error/)
  expect(step.stdout.match(/^::error::/gm)).toHaveLength(1)
  expect(snapshot(settingsDir(runner))).toBe('absent')
  expect(fs.readdirSync(runner.temp)).toEqual([])
  expect(step.env).toEqual({})
  expect(step.outputs).toEqual({})
  expect(step.state.journal).toBeUndefined()
  expect(filesContaining(runner.root, [secret])).toEqual([])
}

describe('keyroll refused before anything is written', () => {
  it.concurrent('a Console host', async () => {
    const runner = fresh()
    const step = await runStep(runner, { host: consoleHost.host, password: CONSOLE_TOKEN, keyroll: 'true' })
    expectNothingWritten(
      step,
      runner,
      CONSOLE_TOKEN,
      /^keyroll: true on a Console login needs rack naming the rack to rotate/
    )
  })

  it.concurrent('a v3 rack, whose version GET /system gives', async () => {
    const runner = fresh()
    const step = await runStep(runner, { host: v3Rack.host, password: RACK_KEY, keyroll: 'true' })
    expectNothingWritten(
      step,
      runner,
      RACK_KEY,
      /^keyroll: true refused: \S+ is a v3 rack \(version 3\.24\.9\) reached directly/
    )
    expect(v3Rack.requests.filter(r => r.method === 'PUT')).toEqual([])
  })

  it.concurrent('a rack access token, refused with the inputs, before any request', async () => {
    const runner = fresh()
    const token = tokenFor(SIGNING_KEY, 'rwa', 1)
    const sent = v3Rack.requests.filter(r => r.user === 'jwt').length
    const step = await runStep(runner, { host: v3Rack.host, password: token, keyroll: 'true' })
    expectNothingWritten(
      step,
      runner,
      token,
      /^keyroll: true cannot roll a rack access token: .* or use keyroll: false\.$/
    )
    expect(v3Rack.requests.filter(r => r.user === 'jwt').length).toBe(sent)
  })
})

describe('RUNNER_TEMP', () => {
  it.concurrent('empty or unset: the step fails before the login, with nothing written', async () => {
    // A rack of its own: the test beside it logs in to the shared one at the same time.
    const rack = await startFakeConvox({ kind: 'rack', rack: { password: RACK_KEY } })
    try {
      const runner = fresh()
      const step = await runStep(
        runner,
        { host: rack.host, password: RACK_KEY },
        { env: { RUNNER_TEMP: '' } }
      )
      expectNothingWritten(
        step,
        runner,
        RACK_KEY,
        /^RUNNER_TEMP is not set, so the undo record .* nothing was written\./
      )
      expect(fs.readdirSync(runner.workspace)).toEqual([])
      expect(rack.requests).toEqual([])
    } finally {
      await rack.close()
    }
  })

  it.concurrent('with logout: false no record is needed, so the login goes ahead', async () => {
    const runner = fresh()
    const step = await runStep(
      runner,
      { host: v2Rack.host, password: RACK_KEY, logout: 'false' },
      { env: { RUNNER_TEMP: '' } }
    )
    expect(step.error).toBeUndefined()
    expect(step.env.CONVOX_HOST).toBe(v2Rack.host)
  })
})
