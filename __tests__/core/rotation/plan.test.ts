import { describe, expect, it } from '@jest/globals'
import type { ApiRequest } from '../../../src/core/api.ts'
import { silentLog } from '../../../src/core/log.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import type { LoginFacts, RotationAsk } from '../../../src/core/rotation/plan.ts'
import { planRotation } from '../../../src/core/rotation/plan.ts'
import { rotationContext } from '../../../src/core/rotation/rotation.ts'
import type { SecretStore } from '../../../src/core/stores/store.ts'
import { virtualClock } from '../../../test-support/virtual-clock.ts'

/** What a keyroll will do, or the sentence that refuses it, from the login's facts and Console's record. */

const store: SecretStore = {
  describe: () => 'memory',
  writeCurrent: async () => undefined,
  writeNext: async () => undefined,
  deleteNext: async () => undefined,
  close: () => undefined
}

function plan(ask: Partial<RotationAsk>, login: LoginFacts, record?: Record<string, unknown>) {
  const sent: ApiRequest[] = []
  const api = {
    host: 'console.example.com',
    send: async (request: ApiRequest) => {
      sent.push(request)
      return { status: 200, headers: {}, body: JSON.stringify(record ?? {}) }
    }
  }
  const ctx = rotationContext({
    api,
    login,
    timeoutMs: 0,
    retryForMs: 0,
    clock: virtualClock(1),
    log: silentLog,
    naming: INPUT_NAMING,
    forms: []
  })
  const full: RotationAsk = { password: false, passwordStore: true, instances: false, ...ask }
  return { result: planRotation(full, login, ctx, INPUT_NAMING), sent }
}

const V3_CONSOLE: LoginFacts = { kind: 'console', rack: 'acme/production', rackVersion: '3.24.9' }
const V2_CONSOLE: LoginFacts = { kind: 'console', rack: 'acme/legacy', rackVersion: '20240101000000' }
const V3_DIRECT: LoginFacts = { kind: 'rack', rack: 'production', rackVersion: '3.24.9' }
const V2_DIRECT: LoginFacts = { kind: 'rack', rack: 'legacy', rackVersion: '20240101000000' }
const MANAGED = { name: 'production', status: 'running', version: '3.24.9', state: 'tfstate' }
const UNMANAGED = { name: 'production', status: 'running', version: '3.24.9' }

describe('planRotation', () => {
  it.each<[string, Partial<RotationAsk>, LoginFacts, Record<string, unknown> | undefined, object, number]>([
    ['v2 direct password', { password: true }, V2_DIRECT, undefined, { password: 'rack' }, 0],
    [
      'v3 behind a Console that holds its state',
      { password: true },
      V3_CONSOLE,
      MANAGED,
      { password: 'console' },
      1
    ],
    [
      'v2 instances through Console, no record needed',
      { instances: true },
      V2_CONSOLE,
      undefined,
      { instances: 'v2' },
      0
    ],
    [
      'v3 instances with a store',
      { instances: true, sshKeyStore: store },
      V3_CONSOLE,
      MANAGED,
      { instances: 'v3' },
      1
    ],
    [
      'both on v3 behind Console',
      { password: true, instances: true, sshKeyStore: store },
      V3_CONSOLE,
      MANAGED,
      { password: 'console', instances: 'v3' },
      1
    ]
  ])('%s', async (_name, ask, login, record, expected, gets) => {
    const { result, sent } = plan(ask, login, record)
    expect(await result).toMatchObject(expected)
    expect(sent.map(r => `${r.method} ${r.path}`)).toEqual(gets ? ['GET /racks/acme/production'] : [])
  })

  it.each<[string, Partial<RotationAsk>, LoginFacts, Record<string, unknown> | undefined, RegExp]>([
    ['v3 direct', { password: true }, V3_DIRECT, undefined, /v3 rack \(version 3\.24\.9\) reached directly/],
    [
      'v2 behind Console',
      { password: true },
      V2_CONSOLE,
      undefined,
      /v2 rack, whose key Console keeps itself/
    ],
    [
      'v3 without state',
      { password: true },
      V3_CONSOLE,
      UNMANAGED,
      /Console does not hold the Terraform state/
    ],
    [
      'Console without rack',
      { password: true },
      { ...V3_CONSOLE, rack: '' },
      undefined,
      /needs rack naming the rack/
    ],
    [
      'v2 direct without a store',
      { password: true, passwordStore: false },
      V2_DIRECT,
      undefined,
      /needs somewhere to go: set update-secret/
    ],
    [
      'v3 instances without a store',
      { instances: true },
      V3_CONSOLE,
      MANAGED,
      /set ssh-key-secret to where it goes/
    ],
    [
      'v3 instances direct',
      { instances: true, sshKeyStore: store },
      V3_DIRECT,
      undefined,
      /reached directly.*key_pair_name/
    ],
    [
      'v3 instances without state',
      { instances: true, sshKeyStore: store },
      V3_CONSOLE,
      UNMANAGED,
      /Terraform state Console does not hold/
    ]
  ])('refuses %s', async (_name, ask, login, record, message) => {
    const { result, sent } = plan(ask, login, record)
    await expect(result).rejects.toThrow(message)
    expect(sent.filter(r => r.method !== 'GET')).toEqual([])
  })
})
