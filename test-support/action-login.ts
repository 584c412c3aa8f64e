import { expect } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { secretForms } from '../src/core/secrets.ts'
import type { FakeConvox, FakeConvoxOptions } from './fake-convox.ts'
import type { Runner, StepOptions, StepResult } from './run-action.ts'
import { filesContaining, findLeaks, runStepTrustingInputs } from './run-action.ts'

/**
 * What the login step's end-to-end tests (__tests__/e2e/action/{rack,console,failures,retries,
 * validate-tls,settings-merge,bad-inputs}.test.ts) share: the made-up keys, the Rack and Console
 * the fakes play, the settings another login left, and the leak rule every scenario ends with.
 * For jest tests only (it asserts with jest's expect).
 */

// Made-up keys. Rack keys are letters; a Console token or a hand-made key may hold anything.
export const RACK_KEY = 'RackKeyQwErTyUiOpAsDfGhJkL'
export const ODD_KEY = 'k3y+with/odd=chars&more'
export const WRONG_KEY = 'NotTheRackKeyZxCvBnMqWeRt'
export const DEPLOY_KEY = 'deploy_0123456789abcdef0123456789abcdef'
export const EXPIRED_TOKEN = 'ExpiredCliTokenAaaBbbCccDdd'
export const MFA_TOKEN = 'MfaCliTokenEeeFffGggHhh111'
/** One Console CLI token per scenario, so each can pick its own requests out of the shared fake. */
export const token = (scenario: string) => `CliToken-${scenario}-9f8e7d6c5b4a`
const USERS = ['switch', 'bare', 'ambiguous', 'unknown', 'stale', 'stale-rack', 'norack'].map(s => ({
  token: token(s),
  id: `user-${s}-42`
}))

export const CONSOLE: FakeConvoxOptions = {
  kind: 'console',
  users: [
    ...USERS,
    { token: EXPIRED_TOKEN, id: 'u-exp', expired: true },
    { token: MFA_TOKEN, id: 'u-mfa', mfa: true }
  ],
  deployKeys: [DEPLOY_KEY],
  racks: [
    { org: 'acme', name: 'production', version: '3.24.9', provider: 'gcp', status: 'running' },
    { org: 'acme', name: 'staging' },
    { org: 'other', name: 'staging' },
    { org: 'other', name: 'qa' }
  ]
}
export const RACK: FakeConvoxOptions = {
  kind: 'rack',
  rack: {
    name: 'production',
    password: RACK_KEY,
    version: '20231115093000',
    status: 'running',
    provider: 'aws'
  }
}

/** The content of other hosts' logins that a failure must leave alone (as the Go CLI writes it). */
export const OTHER_AUTH = '{\n  "other.example.com": "x\\u0026y"\n}'

export const settingsDir = (runner: Runner) => path.join(runner.home, '.convox')

/**
 * Runs the login step against a fake, trusting only the fake's own CA: the fake gives the host
 * and ca-cert inputs, the scenario the rest. Most scenarios differ only in those other inputs.
 */
export function loginTo(
  fake: Pick<FakeConvox, 'host' | 'caCert'>,
  runner: Runner,
  inputs: Record<string, string>,
  options?: StepOptions
): Promise<StepResult> {
  return runStepTrustingInputs(runner, { ...inputs, host: fake.host, 'ca-cert': fake.caCert }, options)
}

/** Seeds a settings directory as an earlier login to another host left it. */
export function seedOtherLogin(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(dir, 'auth'), OTHER_AUTH, { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o644 })
  fs.writeFileSync(path.join(dir, 'console'), 'other.example.com', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'rack'), 'acme/old\n', { mode: 0o600 })
}

/** The values the step asked the runner to mask, decoded as the runner decodes them. */
export function masked(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(l => l.startsWith('::add-mask::'))
    .map(l => l.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

/** The leak rule for one step: log, summary, outputs and workspace hold no form of the secrets. */
export function expectNoLeaks(
  result: StepResult,
  runner: Runner,
  secrets: readonly string[],
  host?: string
): void {
  const real = secrets.filter(Boolean)
  expect(findLeaks(result, real, { host })).toEqual([])
  expect(filesContaining(runner.workspace, real)).toEqual([])
  const forms = real.flatMap(s => secretForms(s, host))
  for (const form of forms) {
    expect(result.summary).not.toContain(form)
    expect(result.error ?? '').not.toContain(form)
    for (const [name, value] of Object.entries(result.outputs)) {
      if (name !== 'password') expect(value).not.toContain(form)
    }
  }
}
