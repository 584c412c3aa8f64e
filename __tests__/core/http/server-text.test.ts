import { describe, expect, it } from '@jest/globals'
import { secretForms } from '../../../src/core/secrets.ts'
import { serverLine, serverText } from '../../../src/core/http/server-text.ts'

/** Server text made fit to quote: secrets out first, then control characters, then the length. */

const KEY = 'k3y+with/odd=chars&more'
const forms = secretForms(KEY, 'rack.example.com')

describe('serverText', () => {
  it('removes every form of the key, the whole Authorization header value among them', () => {
    const basic = Buffer.from(`convox:${KEY}`).toString('base64')
    const jwt = Buffer.from(`jwt:${KEY}`).toString('base64')
    const text = `raw ${KEY} url ${encodeURIComponent(KEY)} b64 ${basic} jwt ${jwt} header Authorization: Basic ${basic}`
    expect(serverText(text, forms, 1000)).toBe('raw *** url *** b64 *** jwt *** header Authorization: ***')
  })

  it('removes any Basic or Bearer credential, even of a key it was not told', () => {
    expect(serverText('Authorization: Basic dXNlcjpvdGhlcnNlY3JldA== sent', [])).toBe(
      'Authorization: Basic *** sent'
    )
    expect(serverText('got bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', [])).toBe('got bearer ***')
  })

  it('cuts after redacting, so a secret at the cut leaves no piece', () => {
    for (const form of forms) {
      for (const pad of [190, 195, 199]) {
        const text = serverText(`${'e'.repeat(pad)}${form}tail`, forms)
        expect(text.length).toBeLessThanOrEqual(200)
        for (let i = 0; i + 4 <= form.length; i++) {
          if (!/^e+$/.test(form.slice(i, i + 4))) expect(text).not.toContain(form.slice(i, i + 4))
        }
      }
    }
  })

  it('turns line breaks and other control characters into spaces, so nothing starts a line', () => {
    expect(serverText('a\r\n::warning::x\u2028::error::y\u0085z\u001b[0m\u0000end', [])).toBe(
      'a ::warning::x ::error::y z [0m end'
    )
  })

  it('never starts with ::, whatever white space comes first', () => {
    for (const text of [
      '::warning::x',
      '  ::stop-commands::t',
      '\n::x::',
      ':\u00a0::set-output::',
      '\u3000::a::'
    ]) {
      expect(serverText(text, [])).not.toMatch(/^\s*:/)
    }
  })

  it('marks a cut with an ellipsis and keeps to the limit', () => {
    expect(serverText('abcdefghij', [], 5)).toBe('abcd…')
    expect(serverText('abcde', [], 5)).toBe('abcde')
  })
})

describe('serverLine', () => {
  it('quotes the first line only', () => {
    expect(serverLine('  first line\r\n::warning::second', [])).toBe('first line')
    expect(serverLine('only\rafter', [])).toBe('only')
  })
})

describe('secretForms', () => {
  it('lists the raw key, both Basic credentials and their header values, the URL-encoded key and the RACK_URL with either user', () => {
    const basic = Buffer.from(`convox:${KEY}`).toString('base64')
    const jwt = Buffer.from(`jwt:${KEY}`).toString('base64')
    expect(forms.sort()).toEqual(
      [
        KEY,
        basic,
        jwt,
        `Basic ${basic}`,
        `Basic ${jwt}`,
        encodeURIComponent(KEY),
        `https://convox:${encodeURIComponent(KEY)}@rack.example.com`,
        `https://jwt:${encodeURIComponent(KEY)}@rack.example.com`
      ].sort()
    )
  })
})
