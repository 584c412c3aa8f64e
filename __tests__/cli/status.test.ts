import { describe, expect, it } from '@jest/globals'
import type { SettingsView, StatusEnv } from '../../src/cli/status.ts'
import { renderStatus, resolveStatus } from '../../src/cli/status.ts'

/** Which login the CLIs would use (src/cli/status.ts): the order of variables and files, as a table. */

const files = (view: Partial<SettingsView> = {}): SettingsView => ({ authHosts: [], racks: {}, ...view })
const env = (e: Partial<StatusEnv> = {}): StatusEnv => ({ hasPassword: false, ...e })

describe('resolveStatus', () => {
  it.each([
    ['nothing at all', env(), files(), undefined, undefined, undefined],
    [
      'the console file and its auth entry',
      env(),
      files({ console: 'a', authHosts: ['a'] }),
      'a: the console file',
      'the auth entry for a',
      undefined
    ],
    [
      'v2 host file alone',
      env(),
      files({ host: 'b', authHosts: ['b'] }),
      'b: the host file',
      'the auth entry for b',
      undefined
    ],
    [
      'CONVOX_HOST over both files',
      env({ convoxHost: 'c', hasPassword: true }),
      files({ console: 'a', host: 'b' }),
      'c: CONVOX_HOST',
      'CONVOX_PASSWORD',
      undefined
    ],
    [
      'an auth entry for another host is no key',
      env(),
      files({ console: 'a', authHosts: ['z'] }),
      'a: the console file',
      undefined,
      undefined
    ],
    [
      'CONVOX_RACK over the rack files',
      env({ convoxRack: 'o/r' }),
      files({ rack: 'o/x', current: 'o/y' }),
      undefined,
      undefined,
      'o/r: CONVOX_RACK'
    ],
    [
      'v2 racks entry over rack and current',
      env(),
      files({ console: 'a', racks: { a: 'o/v2' }, rack: 'o/x' }),
      'a: the console file',
      undefined,
      'o/v2: racks entry for a'
    ],
    [
      'the rack file over current',
      env(),
      files({ rack: 'o/x', current: 'o/y' }),
      undefined,
      undefined,
      'o/x: rack file'
    ],
    [
      'RACK_URL over everything',
      env({ rackUrl: { host: 'r', user: 'jwt' }, convoxHost: 'c', hasPassword: true, convoxRack: 'o/r' }),
      files({ console: 'a', authHosts: ['a'] }),
      'r: RACK_URL',
      'RACK_URL',
      'r: RACK_URL (the rack at that host, directly)'
    ]
  ])('%s', (_name, e, f, host, key, rack) => {
    const status = resolveStatus(e, f)
    expect(status.host && `${status.host.value}: ${status.host.from}`).toBe(host)
    expect(status.key?.from).toBe(key)
    expect(status.rack && `${status.rack.value}: ${status.rack.from}`).toBe(rack)
  })

  it('a host with a port keeps its port in the rack file it names', () => {
    const status = resolveStatus(
      env(),
      files({ console: '127.0.0.1:5443', racks: { '127.0.0.1:5443': 'o/r' }, rack: 'o/x' })
    )
    expect(status.rack).toEqual({
      value: 'o/r',
      from: 'racks entry for 127.0.0.1:5443',
      over: ['rack file: o/x']
    })
  })

  it('says what each winner beats', () => {
    const status = resolveStatus(
      env({ rackUrl: { host: 'r', user: 'convox' }, convoxHost: 'c', hasPassword: true }),
      files({ console: 'a', host: 'b', authHosts: ['a'] })
    )
    expect(status.host!.over).toEqual(['CONVOX_HOST: c', 'console file: a', 'host file: b'])
    expect(status.key!.over).toEqual(['CONVOX_PASSWORD', 'auth entry for a'])
    expect(status.kind).toBe('rack')
  })
})

describe('renderStatus', () => {
  it('shows control characters from a file as ?, so no escape sequence reaches a terminal', () => {
    const text = renderStatus(resolveStatus(env(), files({ console: 'evil\u001b[2Jhost' })), {
      configDir: { value: '/c', from: 'CONVOX_CONFIG', over: [] },
      undo: 'none'
    })
    expect(text).toContain('host        evil?[2Jhost (the console file)')
    expect(text).not.toContain('\u001b')
  })
})
