import { describe, expect, it } from '@jest/globals'
import { parseAnswer } from '../src/core/http-answer.ts'

const bytes = (text: string) => Buffer.from(text, 'latin1')

/** Feeds every prefix of the answer: none may parse until the last byte is in. */
function parseByPrefixes(text: string, method = 'GET') {
  const data = bytes(text)
  for (let end = 0; end < data.length; end++) {
    expect(parseAnswer(data.subarray(0, end), method, false)).toBeUndefined()
  }
  return parseAnswer(data, method, false)
}

describe('parseAnswer: framing (RFC 9112)', () => {
  it('reads a Content-Length body, in whatever pieces it arrives', () => {
    const parsed = parseByPrefixes(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok'
    )
    expect(parsed).toEqual({
      answer: { status: 200, headers: { 'content-length': '2', 'content-type': 'text/plain' }, body: 'ok' },
      reusable: true
    })
  })

  it('reads a chunked body with extensions and trailers, in whatever pieces it arrives', () => {
    const parsed = parseByPrefixes(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value\r\n{"a":\r\nA\r\n"bcdefghi"\r\n1\r\n}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    expect(parsed?.answer.body).toBe('{"a":"bcdefghi"}')
    expect(parsed?.reusable).toBe(true)
  })

  it('decodes UTF-8 split across chunks', () => {
    const euro = Buffer.from('€', 'utf8')
    const data = Buffer.concat([
      bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n'),
      euro.subarray(0, 1),
      bytes('\r\n2\r\n'),
      euro.subarray(1),
      bytes('\r\n0\r\n\r\n')
    ])
    expect(parseAnswer(data, 'GET', false)?.answer.body).toBe('€')
  })

  it('reads a body without length to the end of the connection, which then cannot be reused', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it'
    expect(parseAnswer(bytes(text), 'GET', false)).toBeUndefined()
    expect(parseAnswer(bytes(text), 'GET', true)).toEqual({
      answer: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'all of it' },
      reusable: false
    })
  })

  it('takes a Transfer-Encoding that does not end in chunked as running to the end', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc'
    expect(parseAnswer(bytes(text), 'GET', false)).toBeUndefined()
    expect(parseAnswer(bytes(text), 'GET', true)?.answer.body).toBe('3\r\nabc')
  })

  it('has no body for HEAD, 204 and 304, whatever Content-Length says', () => {
    expect(
      parseAnswer(bytes('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), 'HEAD', false)?.answer.body
    ).toBe('')
    expect(parseAnswer(bytes('HTTP/1.1 204 No Content\r\n\r\n'), 'DELETE', false)?.answer).toEqual({
      status: 204,
      headers: {},
      body: ''
    })
    expect(
      parseAnswer(bytes('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n'), 'GET', false)?.reusable
    ).toBe(true)
  })

  it('skips interim answers (100 Continue, 103 Early Hints)', () => {
    const text =
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' +
      'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n'
    expect(parseByPrefixes(text, 'POST')?.answer).toEqual({
      status: 201,
      headers: { 'content-length': '0' },
      body: ''
    })
  })

  it('does not offer the connection again after Connection: close, HTTP/1.0 or bytes past the answer', () => {
    const ok = 'Content-Length: 2\r\n\r\nok'
    expect(
      parseAnswer(bytes(`HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n${ok}`), 'GET', false)?.reusable
    ).toBe(false)
    expect(parseAnswer(bytes(`HTTP/1.0 200 OK\r\n${ok}`), 'GET', false)?.reusable).toBe(false)
    expect(parseAnswer(bytes(`HTTP/1.1 200 OK\r\n${ok}HTTP/1.1`), 'GET', false)).toEqual({
      answer: { status: 200, headers: { 'content-length': '2' }, body: 'ok' },
      reusable: false
    })
  })
})

describe('parseAnswer: headers', () => {
  it('lower-cases names, trims values and joins repeated headers as node:http does', () => {
    const parsed = parseAnswer(
      bytes(
        'HTTP/1.1 429 Too Many\r\nRetry-After:  7 \r\nVia: a\r\nvia: b\r\nX-Folded: one\r\n two\r\nContent-Length: 0\r\n\r\n'
      ),
      'GET',
      false
    )
    expect(parsed?.answer.status).toBe(429)
    expect(parsed?.answer.headers).toEqual({
      'retry-after': '7',
      via: 'a, b',
      'x-folded': 'one two',
      'content-length': '0'
    })
  })

  it('accepts repeated Content-Length headers that agree', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'
    expect(parseAnswer(bytes(text), 'GET', false)?.answer.body).toBe('ok')
  })
})

describe('parseAnswer: what is not HTTP/1.1 is refused with the reason', () => {
  it.each([
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\n', /starts with "PRI \* HTTP\/2.0"/],
    ['an HTML page', '<html>\r\n\r\n', /starts with "<html>"/],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', /a header line reads "broken"/],
    [
      'a header name with a space',
      'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
      /a header line reads "Bad Name: x"/
    ],
    [
      'Content-Length headers that disagree',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
      /Content-Length is "2, 3"/
    ],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /Content-Length is "-1"/],
    [
      'a chunk size that is not hexadecimal',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      /chunk size reads "zz"/
    ],
    [
      'a chunk longer than its size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n',
      /does not end with CRLF/
    ],
    ['a body over 16 MiB', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n', /larger than 16 MiB/]
  ])('%s', (_name, text, message) => {
    expect(() => parseAnswer(bytes(text), 'GET', false)).toThrow(message)
  })

  it('refuses headers over 64 KiB rather than buffering them without end', () => {
    const text = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}`
    expect(() => parseAnswer(bytes(text), 'GET', false)).toThrow(/headers are larger than 64 KiB/)
  })

  it('refuses a chunk size line over 1 KiB', () => {
    const text = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${'x'.repeat(2000)}`
    expect(() => parseAnswer(bytes(text), 'GET', false)).toThrow(/chunk size line/)
  })
})
