import { describe, expect, it } from '@jest/globals'
import {
  checkTokenExpiry,
  formatExpiry,
  parseRackUrl,
  recogniseCredential,
  TOKEN_WARN_MS
} from '../../src/core/credential.ts'
import { InputError } from '../../src/core/errors.ts'
import { mintRackToken, signJwt } from '../../test-support/rack-tokens.ts'
import { INPUT_NAMING } from '../../src/action/naming.ts'

/** Pure logic: what a secret is, what a RACK_URL holds, and when a token is too old. */

const KEY = 'made-up-signing-key-0123456789'
const EXPIRES = 1_900_000_000 // 2030-03-17T17:46:40Z
const token = (role: 'r' | 'rw' | 'rwa') => mintRackToken(KEY, { role, expiresAt: EXPIRES })

describe('recogniseCredential', () => {
  it.each([
    ['r', 'read'],
    ['rw', 'write'],
    ['rwa', 'admin']
  ] as const)('reads a token of role %s as %s, with user jwt', (role, expected) => {
    expect(recogniseCredential(token(role), 'The password input')).toEqual({
      kind: 'token',
      user: 'jwt',
      secret: token(role),
      role: expected,
      expiresAt: new Date(EXPIRES * 1000)
    })
  })

  it.each(['RackKeyQwErTyUiOp', 'k3y+with/odd=chars&more', 'deploy_0123abcdef', 'eyJno-dots-here', 'a.b.c'])(
    'takes %j for a password, with user convox',
    secret => {
      expect(recogniseCredential(secret, 'The password input')).toEqual({
        kind: 'password',
        user: 'convox',
        secret
      })
    }
  )

  const [header, claims] = token('rw').split('.') as [string, string, string]
  it.each([
    ['two segments', `${header}.${claims}`, /has 2 dot-separated parts, not 3/],
    ['four segments', `${token('rw')}.x`, /has 4 dot-separated parts/],
    ['bad base64', `${header}.${claims}!.sig`, /not base64url/],
    ['a header that is not JSON', `eyJub3Q.${claims}.sig`, /header is not JSON/],
    [
      'alg none',
      signJwt(KEY, { alg: 'none' }, { role: 'rw', expiresAt: EXPIRES }),
      /does not say "alg":"HS256"/
    ],
    [
      'claims without expiresAt',
      signJwt(KEY, { alg: 'HS256' }, { role: 'rw', user: 'x' }),
      /no numeric expiresAt/
    ],
    [
      'a string expiresAt',
      signJwt(KEY, { alg: 'HS256' }, { role: 'rw', expiresAt: '1900000000' }),
      /no numeric expiresAt/
    ],
    [
      'an unknown role',
      signJwt(KEY, { alg: 'HS256' }, { role: 'root', expiresAt: EXPIRES }),
      /no role r, rw or rwa/
    ],
    ['claims that are not JSON', `${header}.bm90IGpzb24.sig`, /claims are not JSON/]
  ])('refuses a token attempt with %s, in a sentence that does not quote it', (_what, secret, message) => {
    let error: unknown
    try {
      recogniseCredential(secret, 'The password input')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).toMatch(/^The password input looks like a rack access token/)
    expect((error as Error).message).toContain('convox rack access --role write')
    for (const piece of secret.split('.').filter(p => p.length >= 8))
      expect((error as Error).message).not.toContain(piece)
  })
})

describe('parseRackUrl', () => {
  it('reads a token URL as convox rack access prints it', () => {
    expect(parseRackUrl(`https://jwt:${token('rw')}@rack.example.convox.site`, INPUT_NAMING)).toEqual({
      host: 'rack.example.convox.site',
      credential: recogniseCredential(token('rw'), 'The password input')
    })
  })

  it('reads the rack password with user convox, percent-decoded, and keeps a port', () => {
    expect(
      parseRackUrl('https://convox:k3y%2Bwith%2Fodd%3Dchars%26more%40x@Rack.Example.com:5443/', INPUT_NAMING)
    ).toEqual({
      host: 'rack.example.com:5443',
      credential: { kind: 'password', user: 'convox', secret: 'k3y+with/odd=chars&more@x' }
    })
    expect(parseRackUrl('https://convox:RackKey@127.0.0.1:443', INPUT_NAMING).host).toBe('127.0.0.1')
  })

  const SECRET = 'SecretPartQwErTy'
  it.each([
    ['another scheme', `http://convox:${SECRET}@rack.example.com`, /uses http:\/\/, not https/],
    ['no scheme', `convox:${SECRET}@rack.example.com`, /is not a URL/],
    ['no user-info', 'https://rack.example.com', /has no user-info/],
    ['no password', `https://${SECRET}@rack.example.com`, /has no secret after the user name/],
    ['another user', `https://admin:${SECRET}@rack.example.com`, /names a user other than jwt or convox/],
    ['a path', `https://convox:${SECRET}@rack.example.com/apps`, /has a path/],
    ['a query', `https://convox:${SECRET}@rack.example.com?x=1`, /has a path, query or fragment/],
    ['a bad host', `https://convox:${SECRET}@rack example.com`, /does not end in a valid host/],
    ['a bad port', `https://convox:${SECRET}@rack.example.com:99999`, /does not end in a valid host/],
    ['an empty secret', 'https://convox:@rack.example.com', /has an empty secret/],
    ['a broken escape', `https://convox:${SECRET}%zz@rack.example.com`, /broken percent-encoding/],
    ['a control character', `https://convox:${SECRET}%0A@rack.example.com`, /control character/],
    [
      'user jwt and a password',
      `https://jwt:${SECRET}@rack.example.com`,
      /rack-url input looks like a rack access token/
    ],
    [
      'user convox and a token',
      `https://convox:${token('rw')}@rack.example.com`,
      /holds a rack access token with user convox/
    ]
  ])('refuses %s without quoting the secret', (_what, raw, message) => {
    let error: unknown
    try {
      parseRackUrl(raw, INPUT_NAMING)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain(SECRET)
    expect((error as Error).message).not.toContain(token('rw').split('.')[1])
  })
})

describe('checkTokenExpiry', () => {
  const credential = recogniseCredential(token('rw'), 'The password input')
  const end = EXPIRES * 1000

  it('says nothing of a password or a token with more than 7 days left', () => {
    expect(checkTokenExpiry(recogniseCredential('RackKey', 'The password input'), end)).toBeUndefined()
    expect(checkTokenExpiry(credential, end - TOKEN_WARN_MS - 1)).toBeUndefined()
  })

  it('warns with the date within 7 days of the end', () => {
    expect(checkTokenExpiry(credential, end - TOKEN_WARN_MS)).toBe(
      'The rack access token expires at 2030-03-17T17:46:40Z (in 7 days): before then, mint a new one with ' +
        'convox rack access --role write --duration-in-hours 720 on a machine logged into the rack, then update the secret.'
    )
    expect(checkTokenExpiry(credential, end - 36 * 3600_000)).toMatch(/\(in 1 day\)/)
    expect(checkTokenExpiry(credential, end - 1000)).toMatch(/\(in less than a day\)/)
  })

  it('fails an expired token, saying when it expired and how to mint another', () => {
    expect(() => checkTokenExpiry(credential, end)).toThrow(
      new InputError(
        'The rack access token expired at 2030-03-17T17:46:40Z: mint a new one with convox rack access --role write ' +
          '--duration-in-hours 720 on a machine logged into the rack, then update the secret.'
      )
    )
  })

  it('formats dates in UTC, to the second', () => {
    expect(formatExpiry(new Date(EXPIRES * 1000))).toBe('2030-03-17T17:46:40Z')
  })
})
