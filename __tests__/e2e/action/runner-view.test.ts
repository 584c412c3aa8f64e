import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { runnerPool, runnerView, runStep } from '../../../test-support/run-action.ts'

/** The runner's view of a step's log, as `npm run demo` shows it (test-support/run-action.ts). */

const KEY = 'RunnerViewRackKey0123456789'
const runners = runnerPool()
let rack: FakeConvox

beforeAll(async () => {
  rack = await startFakeConvox({ kind: 'rack', rack: { password: KEY } })
})
afterAll(async () => {
  runners.removeAll()
  await rack.close()
})

describe('runnerView', () => {
  it('hides masking lines and shows what they registered as ***, from then on', () => {
    const stdout = [
      'before secret-1',
      '::add-mask::secret-1',
      '::add-mask::50%25off',
      '::group::Log in',
      'after secret-1 and 50%off',
      '::debug::not shown',
      '::warning file=a::careful with secret-1',
      '::endgroup::'
    ].join('\n')
    expect(runnerView(stdout)).toBe(
      ['before secret-1', '▾ Log in', 'after *** and ***', 'Warning: careful with ***'].join('\n')
    )
  })

  it("a real step's log shows no masking line and no form of the key", async () => {
    const step = await runStep(runners.fresh(), { host: rack.host, password: KEY, 'ca-cert': rack.caCert })
    expect(step.code).toBe(0)
    expect(step.stdout).toContain('::add-mask::')
    const view = runnerView(step.stdout)
    expect(view).not.toContain('::add-mask::')
    expect(view).toContain(`▾ Validate the key on ${rack.host}`)
    for (const form of secretForms(KEY, rack.host)) expect(view).not.toContain(form)
  })
})
