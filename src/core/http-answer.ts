/**
 * Reading an HTTP/1.1 answer from the bytes received so far (RFC 9112): pure, so that https.ts
 * only moves bytes, and every framing rule can be tested without a socket.
 */

export interface HttpsAnswer {
  status: number
  /** Lower-case names; a repeated header's values joined with ", ", as node:http does. */
  headers: Record<string, string>
  body: string
}

export interface ParsedAnswer {
  answer: HttpsAnswer
  /** Whether the connection may carry the next request: HTTP/1.1, not `Connection: close`, and nothing after the answer. */
  reusable: boolean
}

const MAX_HEAD = 64 * 1024
const MAX_BODY = 16 * 1024 * 1024
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Thrown for an answer that is not HTTP: not worth retrying, and not a TLS problem. */
function malformed(what: string): Error {
  return new Error(`the answer is not valid HTTP/1.1: ${what}`)
}

/**
 * The complete answer in `data`, or undefined while more bytes are needed. `ended` says the
 * server has closed its side: an answer framed by the end of the connection is complete then.
 * Interim answers (100 Continue, 103 Early Hints) are skipped.
 */
export function parseAnswer(data: Buffer, method: string, ended: boolean): ParsedAnswer | undefined {
  let offset = 0
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', offset, 'latin1')
    if (headEnd < 0) {
      if (data.length - offset > MAX_HEAD) throw malformed('its headers are larger than 64 KiB')
      return undefined
    }
    if (headEnd - offset > MAX_HEAD) throw malformed('its headers are larger than 64 KiB')
    const head = parseHead(data.toString('latin1', offset, headEnd))
    offset = headEnd + 4
    if (head.status < 200 && head.status !== 101) continue

    const { status, headers } = head
    const persistent = head.minor === 1 && !hasToken(headers.connection, 'close')
    const answer = (body: Buffer, end: number, framed: boolean): ParsedAnswer => ({
      answer: { status, headers, body: body.toString('utf8') },
      reusable: framed && persistent && end === data.length && status !== 101
    })

    if (method === 'HEAD' || status === 204 || status === 304 || status === 101) {
      return answer(Buffer.alloc(0), offset, true)
    }
    const encoding = headers['transfer-encoding']
    if (encoding !== undefined) {
      // Only a final `chunked` frames the body; any other coding runs to the end of the connection.
      if (lastToken(encoding) === 'chunked') {
        const chunked = readChunked(data, offset)
        return chunked && answer(chunked.body, chunked.end, true)
      }
      return untilClose(data, offset, ended, answer)
    }
    const lengthHeader = headers['content-length']
    if (lengthHeader !== undefined) {
      const length = contentLength(lengthHeader)
      if (data.length - offset < length) return undefined
      return answer(data.subarray(offset, offset + length), offset + length, true)
    }
    return untilClose(data, offset, ended, answer)
  }
}

interface Head {
  minor: number
  status: number
  headers: Record<string, string>
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n')
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!)
  if (!statusLine) throw malformed(`it starts with "${lines[0]!.slice(0, 40)}"`)
  const headers: Record<string, string> = {}
  let last: string | undefined
  for (const line of lines.slice(1)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers[last] = `${headers[last]} ${line.trim()}` // obsolete line folding
      continue
    }
    const colon = line.indexOf(':')
    const name = line.slice(0, colon)
    if (colon <= 0 || !TOKEN.test(name)) throw malformed(`a header line reads "${line.slice(0, 40)}"`)
    last = name.toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[last] = last in headers ? `${headers[last]}, ${value}` : value
  }
  return { minor: Number(statusLine[1]), status: Number(statusLine[2]), headers }
}

function tokens(value: string): string[] {
  return value
    .toLowerCase()
    .split(',')
    .map(token => token.trim())
}

function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined && tokens(value).includes(token)
}

function lastToken(value: string): string | undefined {
  return tokens(value).at(-1)
}

/** Repeated Content-Length headers are allowed only when they agree (RFC 9110, 8.6). */
function contentLength(value: string): number {
  const values = new Set(value.split(',').map(part => part.trim()))
  const [only] = values
  if (values.size !== 1 || !/^\d{1,15}$/.test(only!))
    throw malformed(`Content-Length is "${value.slice(0, 40)}"`)
  const length = Number(only)
  if (length > MAX_BODY) throw malformed('its body is larger than 16 MiB')
  return length
}

function untilClose(
  data: Buffer,
  offset: number,
  ended: boolean,
  answer: (body: Buffer, end: number, framed: boolean) => ParsedAnswer
): ParsedAnswer | undefined {
  if (data.length - offset > MAX_BODY) throw malformed('its body is larger than 16 MiB')
  return ended ? answer(data.subarray(offset), data.length, false) : undefined
}

/** A chunked body and where it ends, or undefined while incomplete. */
function readChunked(data: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = []
  let size = 0
  let offset = start
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset, 'latin1')
    if (lineEnd < 0) {
      if (data.length - offset > 1024) throw malformed('a chunk size line is longer than 1 KiB')
      return undefined
    }
    const sizeText = data.toString('latin1', offset, lineEnd).split(';')[0]!.trim()
    if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) throw malformed(`a chunk size reads "${sizeText.slice(0, 20)}"`)
    const chunkSize = parseInt(sizeText, 16)
    offset = lineEnd + 2
    if (chunkSize === 0) {
      // Trailer fields, if any, then an empty line.
      for (;;) {
        const end = data.indexOf('\r\n', offset, 'latin1')
        if (end < 0) return undefined
        if (end === offset) return { body: Buffer.concat(parts), end: end + 2 }
        offset = end + 2
      }
    }
    size += chunkSize
    if (size > MAX_BODY) throw malformed('its body is larger than 16 MiB')
    if (data.length < offset + chunkSize + 2) return undefined
    if (data[offset + chunkSize] !== 0x0d || data[offset + chunkSize + 1] !== 0x0a) {
      throw malformed('a chunk does not end with CRLF')
    }
    parts.push(data.subarray(offset, offset + chunkSize))
    offset += chunkSize + 2
  }
}
