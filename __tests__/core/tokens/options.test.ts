import { describe, expect, it } from '@jest/globals'
import { FLAG_NAMING } from '../../../src/cli/args.ts'
import { InputError } from '../../../src/core/errors.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import type { MintCombination } from '../../../src/core/tokens/options.ts'
import { checkMintCombination, parseMintToken, probeHours } from '../../../src/core/tokens/options.ts'

describe('parseMintToken', () => {
  it.each([
    ['', '', undefined],
    ['', '6', undefined],
    ['write', '', { role: 'write', hours: 6 }],
    ['read', '1', { role: 'read', hours: 1 }],
    ['admin', '8760', { role: 'admin', hours: 8760 }],
    [' write ', ' 12 ', { role: 'write', hours: 12 }]
  ])('%j, %j', (role, hours, expected) => {
    expect(parseMintToken(role, hours, INPUT_NAMING)).toEqual(expected)
  })

  it.each([
    ['owner', '', INPUT_NAMING, 'The mint-token input "owner" is not a role: use read, write or admin.'],
    ['owner', '', FLAG_NAMING, '--mint-token "owner" is not a role: use read, write or admin.'],
    [
      'write',
      '0',
      INPUT_NAMING,
      'The mint-token-hours input "0" is not a whole number of hours from 1 to 8760'
    ],
    ['write', '8761', FLAG_NAMING, '--mint-token-hours "8761" is not a whole number of hours from 1 to 8760'],
    ['write', '1.5', INPUT_NAMING, 'The mint-token-hours input "1.5" is not a whole number'],
    ['write', '-3', INPUT_NAMING, 'The mint-token-hours input "-3" is not a whole number'],
    ['', '12', FLAG_NAMING, '--mint-token-hours is given without --mint-token: set --mint-token write']
  ])('refuses %j, %j', (role, hours, naming, message) => {
    expect(() => parseMintToken(role, hours, naming)).toThrow(InputError)
    expect(() => parseMintToken(role, hours, naming)).toThrow(message)
  })
})

describe('checkMintCombination', () => {
  const base: MintCombination = {
    mint: { role: 'write', hours: 6 },
    validate: true,
    keyroll: false,
    storeOrRevoke: false
  }
  it.each<[string, Partial<MintCombination>, string, string]>([
    [
      'validate off',
      { validate: false },
      'which validate: false does not use: remove validate: false.',
      'which --no-validate does not use: remove --no-validate.'
    ],
    [
      'a keyroll',
      { keyroll: true },
      'keyroll: true and mint-token do not go together',
      'convox-login keyroll and --mint-token do not go together'
    ],
    [
      'a store without a token',
      { mint: undefined, storeOrRevoke: true },
      'set mint-token: write',
      'set --mint-token write'
    ],
    [
      'revocation without a store',
      { revoke: true, storeOrRevoke: true },
      'name one with token-secret.',
      'name one with --token-github-secret.'
    ],
    [
      'revocation by a token login',
      { revoke: true, store: true, storeOrRevoke: true, tokenLogin: true },
      'revoke-tokens: true with a rack access token',
      '--revoke-tokens with a rack access token'
    ],
    [
      'revocation with hours a probe could have',
      {
        revoke: true,
        store: true,
        storeOrRevoke: true,
        timeoutMs: 30 * 60_000,
        mint: { role: 'write', hours: 3 }
      },
      'needs mint-token-hours of at least 4',
      'needs --mint-token-hours of at least 4'
    ]
  ])("refuses %s, in each front end's words", (_name, change, action, command) => {
    expect(() => checkMintCombination({ ...base, ...change }, INPUT_NAMING)).toThrow(action)
    expect(() => checkMintCombination({ ...base, ...change }, FLAG_NAMING)).toThrow(command)
  })

  it('takes a job token, renewal and revocation as they are meant', () => {
    expect(() => checkMintCombination(base, INPUT_NAMING)).not.toThrow()
    expect(() =>
      checkMintCombination({ ...base, store: true, storeOrRevoke: true }, INPUT_NAMING)
    ).not.toThrow()
    expect(() =>
      checkMintCombination(
        {
          ...base,
          mint: { role: 'write', hours: 4 },
          revoke: true,
          store: true,
          storeOrRevoke: true,
          timeoutMs: 30 * 60_000
        },
        INPUT_NAMING
      )
    ).not.toThrow()
  })

  it('gives the probe the whole window and an hour more', () => {
    expect(probeHours(30 * 60_000)).toBe(2)
    expect(probeHours(60 * 60_000)).toBe(2)
    expect(probeHours(61 * 60_000)).toBe(3)
  })
})
