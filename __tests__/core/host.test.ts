import { describe, expect, it } from '@jest/globals'
import { normaliseHost } from '../../src/core/host.ts'
import { INPUT_NAMING } from '../../src/action/naming.ts'

describe('normaliseHost', () => {
  it.each([
    ['console.convox.com', 'console.convox.com'],
    ['https://console.convox.com/', 'console.convox.com'],
    ['HTTPS://Rack.Example.COM', 'rack.example.com'],
    ['rack.example.com:443', 'rack.example.com'],
    ['https://127.0.0.1:5443/', '127.0.0.1:5443'],
    ['  rack.example.com  ', 'rack.example.com'],
    ['[::1]:5443', '[::1]:5443']
  ])('%s -> %s', (input, expected) => {
    expect(normaliseHost(input, INPUT_NAMING)).toBe(expected)
  })

  it.each([
    ['', /host input is empty/],
    ['http://rack.example.com', /uses http:\/\/.*HTTPS only/],
    ['rack.example.com/api', /path, query or fragment/],
    ['rack.example.com?x=1', /path, query or fragment/],
    ['rack example.com', /white space/],
    ['https://convox:secret@rack.example.com', /user-info/],
    ['rack.example.com:99999', /not a valid host name/],
    ['-bad.example.com', /not a valid host name/]
  ])('rejects %j', (input, message) => {
    expect(() => normaliseHost(input, INPUT_NAMING)).toThrow(message)
  })

  it('never echoes user-info, which may hold a password', () => {
    expect(() => normaliseHost('https://convox:s3cr3t@rack.example.com', INPUT_NAMING)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cr3t') })
    )
  })
})
