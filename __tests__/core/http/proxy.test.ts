import { describe, expect, it } from '@jest/globals'
import { ConvoxError } from '../../../src/core/errors.ts'
import { nodeHasProxyEnv, proxyFromEnv, proxyProblem, usesProxy } from '../../../src/core/http/proxy.ts'

/** Which proxy a host goes through, as Node's https.Agent decides it, and whether this Node can. */

const PROXY = 'http://proxy.corp.example:3128'

describe('proxyFromEnv', () => {
  it('reads https_proxy before HTTPS_PROXY, and names the proxy without its credentials', () => {
    expect(proxyFromEnv({})).toBeUndefined()
    expect(proxyFromEnv({ HTTP_PROXY: PROXY })).toBeUndefined() // every request here is HTTPS
    expect(proxyFromEnv({ HTTPS_PROXY: PROXY })).toMatchObject({
      variable: 'HTTPS_PROXY',
      name: 'http://proxy.corp.example:3128',
      hasCredentials: false,
      bypass: []
    })
    expect(
      proxyFromEnv({ https_proxy: 'https://ci:s3cret@Proxy.Corp.Example', HTTPS_PROXY: PROXY })
    ).toMatchObject({ variable: 'https_proxy', name: 'https://proxy.corp.example:443', hasCredentials: true })
    // An empty lower-case variable does not hide the upper-case one, as in Node.
    expect(proxyFromEnv({ https_proxy: '', HTTPS_PROXY: 'http://[::1]:8080' })).toMatchObject({
      variable: 'HTTPS_PROXY',
      name: 'http://[::1]:8080'
    })
  })

  it('reads no_proxy before NO_PROXY', () => {
    expect(
      proxyFromEnv({ HTTPS_PROXY: PROXY, no_proxy: 'A.example, .b.example', NO_PROXY: 'c' })?.bypass
    ).toEqual(['a.example', '.b.example'])
    expect(proxyFromEnv({ HTTPS_PROXY: PROXY, NO_PROXY: 'c' })?.bypass).toEqual(['c'])
  })

  it('refuses a value Node would ignore or could not parse, without repeating it', () => {
    for (const [value, message] of [
      ['proxy.corp.example:3128', /^HTTPS_PROXY does not start with http:\/\/ or https:\/\//],
      ['socks5://ci:s3cret@proxy:1080', /^HTTPS_PROXY does not start with http:\/\/ or https:\/\//],
      ['HTTP://proxy:3128', /^HTTPS_PROXY does not start with http:\/\/ or https:\/\//],
      ['http://ci:s3cret@[proxy', /^HTTPS_PROXY is not a valid URL/],
      ['http://ci:s3cret@proxy:3128\r\nX: 1', /^HTTPS_PROXY is not a valid URL/]
    ] as const) {
      expect(() => proxyFromEnv({ HTTPS_PROXY: value })).toThrow(ConvoxError)
      expect(() => proxyFromEnv({ HTTPS_PROXY: value })).toThrow(message)
      expect(() => proxyFromEnv({ HTTPS_PROXY: value })).not.toThrow(/s3cret/)
    }
  })
})

describe('usesProxy: the NO_PROXY forms Node documents', () => {
  const through = (noProxy: string, hostname: string, port = 443) =>
    usesProxy(proxyFromEnv({ HTTPS_PROXY: PROXY, NO_PROXY: noProxy })!, hostname, port)

  it('sends everything through the proxy when NO_PROXY is empty, loopback included', () => {
    expect(through('', 'rack.example.com')).toBe(true)
    expect(through('', '127.0.0.1')).toBe(true)
    expect(through('', 'localhost')).toBe(true)
  })

  it('bypasses it for *, an exact host, or a host and port', () => {
    expect(through('*', 'rack.example.com')).toBe(false)
    expect(through('rack.example.com', 'Rack.Example.com')).toBe(false)
    expect(through('rack.example.com', 'api.rack.example.com')).toBe(true)
    expect(through('127.0.0.1', '127.0.0.1', 5443)).toBe(false)
    expect(through('rack.example.com:5443', 'rack.example.com', 5443)).toBe(false)
    expect(through('rack.example.com:5443', 'rack.example.com', 443)).toBe(true)
    expect(through('::1', '::1')).toBe(false)
  })

  it('bypasses it for a domain suffix, with a leading dot or a wildcard', () => {
    expect(through('.example.com', 'rack.example.com')).toBe(false)
    expect(through('.example.com', 'example.com')).toBe(false)
    expect(through('.example.com', 'notexample.com')).toBe(true)
    expect(through('*.example.com', 'a.b.example.com')).toBe(false)
    expect(through('*.example.com', 'example.com')).toBe(true)
  })

  it('bypasses it for an IPv4 range, ends included', () => {
    expect(through('10.0.0.1-10.0.0.9', '10.0.0.1')).toBe(false)
    expect(through('10.0.0.1 - 10.0.0.9', '10.0.0.9')).toBe(false)
    expect(through('10.0.0.1-10.0.0.9', '10.0.0.10')).toBe(true)
    expect(through('10.0.0.1-10.0.0.9', 'rack-1.example.com')).toBe(true)
  })

  it('reads each entry of a comma-separated list, spaces around them ignored', () => {
    expect(through('github.com, .internal , 127.0.0.1', 'rack.internal')).toBe(false)
    expect(through('github.com, .internal , 127.0.0.1', 'api.github.com')).toBe(true)
  })
})

describe('proxyProblem: a Node without https.Agent proxyEnv', () => {
  it('knows the first Node 24 that has it', () => {
    expect(nodeHasProxyEnv('24.4.1')).toBe(false)
    expect(nodeHasProxyEnv('v24.5.0')).toBe(true)
    expect(nodeHasProxyEnv('24.21.0')).toBe(true)
    expect(nodeHasProxyEnv('25.0.0')).toBe(true)
    expect(nodeHasProxyEnv('20.19.5')).toBe(false)
  })

  it('refuses a host the proxy is for, in one sentence that says what to do', () => {
    expect(proxyProblem('24.1.0', { HTTPS_PROXY: PROXY }, 'rack.example.com', 443)).toBe(
      "This runner's Node v24.1.0 cannot use HTTPS_PROXY (https.Agent proxyEnv needs Node 24.5.0 or later): " +
        'update the runner, or add rack.example.com to NO_PROXY to connect to it directly.'
    )
  })

  it('has nothing to say without a proxy, for a host NO_PROXY names, or on a Node that can', () => {
    expect(proxyProblem('24.1.0', {}, 'rack.example.com', 443)).toBeUndefined()
    expect(
      proxyProblem('24.1.0', { HTTPS_PROXY: PROXY, NO_PROXY: '.example.com' }, 'rack.example.com', 443)
    ).toBeUndefined()
    expect(proxyProblem('24.5.0', { https_proxy: PROXY }, 'rack.example.com', 443)).toBeUndefined()
  })
})
