import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { InputError } from '../../src/core/errors.ts'
import type { Inputs } from '../../src/action/inputs.ts'
import { parseInputs } from '../../src/action/inputs.ts'
import { mintRackToken } from '../../test-support/rack-tokens.ts'

const HOME = '/home/runner'
const WORKSPACE = '/home/runner/work/app/app'
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n'

/** parseInputs with a getter over `given`, as the runner's getInput returns it: '' for what was not given. */
function parse(given: Record<string, string>, context = { home: HOME, workspace: WORKSPACE }): Inputs {
  return parseInputs(name => given[name] ?? '', context)
}

const base = { password: 'RackKeyAbcdefGhijkl' }

describe('parseInputs', () => {
  it('applies the defaults of action.yml', () => {
    expect(parse(base)).toEqual({
      host: 'console.convox.com',
      password: 'RackKeyAbcdefGhijkl',
      credential: { kind: 'password', user: 'convox', secret: 'RackKeyAbcdefGhijkl' },
      actor: '',
      rack: '',
      validate: true,
      configDir: path.join(HOME, '.convox'),
      exportEnv: true,
      logout: true,
      caCert: '',
      insecure: false,
      retryForMs: 60_000,
      keyroll: false,
      keyrollTimeoutMs: 30 * 60_000,
      passwordNext: '',
      updateSecret: '',
      updateSecretEnvironment: '',
      githubToken: '',
      instancesKeyroll: false,
      sshKeySecret: '',
      tokenSecret: '',
      revokeTokens: false,
      storedRackUrl: '',
      cliVersion: '',
      cliDownloadUrl: '',
      cliToken: ''
    } satisfies Inputs)
  })

  it('takes update-secret-environment for the instance private key without keyroll, and refuses it with nothing to name', () => {
    const given = {
      ...base,
      'instances-keyroll': 'true',
      'ssh-key-secret': 'RACK_SSH_KEY',
      'update-secret-environment': 'production',
      'github-token': 'ghs_token'
    }
    expect(parse(given)).toMatchObject({
      sshKeySecret: 'RACK_SSH_KEY',
      updateSecretEnvironment: 'production'
    })
    expect(() => parse({ ...base, 'update-secret-environment': 'production' })).toThrow(
      'The update-secret-environment input is only used with keyroll: true: remove it or set keyroll: true.'
    )
  })

  it('normalises the host', () => {
    expect(parse({ ...base, host: 'HTTPS://Rack.Example.com:5443/' }).host).toBe('rack.example.com:5443')
    expect(parse({ ...base, host: 'https://rack.example.com:443' }).host).toBe('rack.example.com')
  })

  it.each([
    ['~', HOME],
    ['~/.convox', path.join(HOME, '.convox')],
    ['~/.config/convox', path.join(HOME, '.config/convox')],
    ['/tmp/runner/convox', '/tmp/runner/convox'],
    ['/tmp/runner/../convox/', '/tmp/convox']
  ])('expands and resolves config-dir %j', (input, expected) => {
    expect(parse({ ...base, 'config-dir': input }).configDir).toBe(expected)
  })

  it('refuses ~user, which it cannot expand as a shell would, rather than taking it for a relative path', () => {
    for (const dir of ['~other/x', '~other']) {
      expect(() => parse({ ...base, 'config-dir': dir }, { home: HOME, workspace: '' })).toThrow(
        new InputError(
          `The config-dir input "${dir}" starts with ~user, which is not expanded here: give an absolute path, or ~/ for this job's home.`
        )
      )
    }
  })

  it('resolves a relative config-dir against the working directory', () => {
    expect(parse({ ...base, 'config-dir': 'convox/x' }, { home: HOME, workspace: '' }).configDir).toBe(
      path.resolve('convox/x')
    )
  })

  it.each([
    [WORKSPACE, /inside the workspace/],
    [`${WORKSPACE}/.convox`, /inside the workspace/],
    [`${WORKSPACE}/a/b/../c`, /inside the workspace/]
  ])('refuses config-dir %j inside the workspace', (dir, message) => {
    expect(() => parse({ ...base, 'config-dir': dir })).toThrow(message)
  })

  it('judges config-dir by its real path: a link into the workspace is refused, a link out of it is not', () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'convox-inputs-')))
    try {
      const workspace = path.join(root, 'workspace')
      const outside = path.join(root, 'outside')
      fs.mkdirSync(workspace)
      fs.mkdirSync(outside)
      fs.symlinkSync(workspace, path.join(root, 'into-workspace'))
      fs.symlinkSync(outside, path.join(workspace, 'out'))
      fs.symlinkSync(workspace, path.join(root, 'workspace-link'))
      const context = { home: HOME, workspace }
      // The link itself, and a directory not yet made under it: judged by the deepest part that exists.
      for (const dir of ['into-workspace', 'into-workspace/not/yet/made']) {
        expect(() => parse({ ...base, 'config-dir': path.join(root, dir) }, context)).toThrow(
          /inside the workspace/
        )
      }
      expect(parse({ ...base, 'config-dir': path.join(workspace, 'out', 'convox') }, context).configDir).toBe(
        path.join(workspace, 'out', 'convox')
      )
      // A workspace given through a link is resolved too.
      expect(() =>
        parse(
          { ...base, 'config-dir': path.join(workspace, '.convox') },
          { home: HOME, workspace: path.join(root, 'workspace-link') }
        )
      ).toThrow(/inside the workspace/)
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })

  it('accepts a sibling of the workspace whose name starts the same', () => {
    expect(parse({ ...base, 'config-dir': `${WORKSPACE}-convox` }).configDir).toBe(`${WORKSPACE}-convox`)
  })

  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    [' true ', true],
    ['false', false],
    ['False', false],
    ['FALSE', false]
  ])('reads the boolean %j', (value, expected) => {
    const inputs = parse({ ...base, validate: value, 'export-env': value, logout: value, insecure: value })
    expect([inputs.validate, inputs.exportEnv, inputs.logout, inputs.insecure]).toEqual([
      expected,
      expected,
      expected,
      expected
    ])
  })

  it('takes the default of an empty boolean', () => {
    const inputs = parse({ ...base, validate: '', insecure: '', logout: ' ' })
    expect([inputs.validate, inputs.insecure, inputs.logout]).toEqual([true, false, true])
  })

  it.each(['yes', 'no', '1', '0', 'tRue', 'on'])('refuses the boolean %j', value => {
    expect(() => parse({ ...base, validate: value })).toThrow(
      new InputError(`The validate input "${value}" is not a boolean: use true or false.`)
    )
  })

  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['0', 0]
  ])('reads retry-for %j', (value, ms) => {
    expect(parse({ ...base, 'retry-for': value }).retryForMs).toBe(ms)
  })

  it.each(['banana', '5 minutes', '1.5m', '-1'])('refuses retry-for %j', value => {
    expect(() => parse({ ...base, 'retry-for': value })).toThrow(/retry-for input .* is not a duration/)
  })

  it('refuses a zero keyroll-timeout', () => {
    expect(() => parse({ ...base, keyroll: 'true', 'keyroll-timeout': '0s' })).toThrow(
      /keyroll-timeout.*zero/
    )
  })

  describe('password', () => {
    it.each(['', '   ', '\n'])('refuses the empty password %j and mentions forks and Dependabot', value => {
      expect(() => parse({ password: value })).toThrow(/password input is empty.*forks.*Dependabot/)
    })

    it('strips line breaks around the key, keeps everything else', () => {
      expect(parse({ password: 'key with  spaces\r\n' }).password).toBe('key with  spaces')
      expect(parse({ password: '\nk3y+with/odd=chars&more' }).password).toBe('k3y+with/odd=chars&more')
    })

    it.each(['two\nlines', 'tab\there', 'nul\u0000'])('refuses a control character in %j', value => {
      expect(() => parse({ password: value })).toThrow(/control character/)
    })

    it('never puts the password in a message', () => {
      const secret = 'SecretInTheMessage123'
      for (const given of [
        { password: `${secret}\u0001` } as Record<string, string>,
        { password: secret, host: 'http://x' },
        { password: secret, validate: 'yes' }
      ]) {
        expect(() => parse(given)).toThrow(InputError)
        try {
          parse(given)
        } catch (error) {
          expect((error as Error).message).not.toContain(secret)
        }
      }
    })
  })

  describe('rack-url and rack access tokens', () => {
    const TOKEN = mintRackToken('made-up-signing-key', { role: 'rw', expiresAt: 1_900_000_000 })
    const URL_ = `https://jwt:${TOKEN}@Rack.Example.com:5443`

    it('takes host and key from rack-url, and password is not needed', () => {
      const inputs = parse({ 'rack-url': URL_ })
      expect(inputs.host).toBe('rack.example.com:5443')
      expect(inputs.password).toBe(TOKEN)
      expect(inputs.credential).toMatchObject({ kind: 'token', user: 'jwt', role: 'write' })
    })

    it('accepts a host that names the same host as rack-url, in any form', () => {
      expect(parse({ 'rack-url': URL_, host: 'https://rack.example.com:5443/' }).host).toBe(
        'rack.example.com:5443'
      )
    })

    it('refuses a host that names another host than rack-url', () => {
      expect(() => parse({ 'rack-url': URL_, host: 'console.convox.com' })).toThrow(
        new InputError(
          'The host input names console.convox.com, but rack-url names rack.example.com:5443: remove host, or make the two agree.'
        )
      )
    })

    it('refuses both password and rack-url, and neither', () => {
      expect(() => parse({ 'rack-url': URL_, password: 'RackKey' })).toThrow(
        /^Both password and rack-url are set/
      )
      expect(() => parse({})).toThrow(/password input is empty, and rack-url is not set/)
    })

    it('recognises a token in password and needs the rack host with it', () => {
      expect(parse({ password: TOKEN, host: 'rack.example.com' }).credential).toMatchObject({
        kind: 'token',
        user: 'jwt'
      })
      expect(() => parse({ password: TOKEN })).toThrow(/is a rack access token, which only its rack accepts/)
    })

    it('never puts the token or the URL in a message', () => {
      const cases: Array<Record<string, string>> = [
        { 'rack-url': URL_, password: 'x' },
        { 'rack-url': URL_, host: 'other.example.com' },
        { 'rack-url': URL_.replace('jwt:', 'admin:') },
        { 'rack-url': `${URL_}/path` },
        { password: TOKEN }
      ]
      for (const given of cases) {
        let message = ''
        try {
          parse(given)
        } catch (error) {
          message = (error as Error).message
        }
        expect(message).not.toBe('')
        for (const piece of TOKEN.split('.')) expect(message).not.toContain(piece)
      }
    })
  })

  it('keeps the actor input as given, trimmed: core derives and cleans it', () => {
    expect(parse({ ...base, actor: ' none ' }).actor).toBe('none')
    expect(parse({ ...base, actor: 'release-bot' }).actor).toBe('release-bot')
  })

  it.each([
    ['acme/production', 'acme/production'],
    ['production', 'production'],
    [' my-org.1/rack_2 ', 'my-org.1/rack_2']
  ])('accepts the rack %j', (value, expected) => {
    expect(parse({ ...base, rack: value }).rack).toBe(expected)
  })

  it.each(['a/b/c', '/production', 'acme/', 'acme production', '-x'])('refuses the rack %j', value => {
    expect(() => parse({ ...base, rack: value })).toThrow(/rack input .* is not a rack name/)
  })

  it.each([
    [{ host: 'http://rack.example.com' }, /HTTPS only/],
    [{ host: 'rack.example.com/api' }, /path, query or fragment/],
    [{ host: 'rack.example.com?x=1' }, /path, query or fragment/],
    [{ host: 'rack example.com' }, /white space/],
    [{ 'ca-cert': 'not a certificate' }, /ca-cert input is not a PEM certificate/],
    [{ 'ca-cert': PEM, insecure: 'true' }, /Both ca-cert and insecure/],
    [{ keyroll: 'true', validate: 'false' }, /keyroll needs the API, but validate is false/],
    [{ 'password-next': 'NextKey123' }, /password-next input is only used with keyroll: true/],
    [{ 'update-secret': 'CONVOX_PASSWORD' }, /update-secret input is only used with keyroll: true/],
    [{ keyroll: 'true', 'update-secret': 'CONVOX_PASSWORD' }, /update-secret needs a github-token/],
    [{ keyroll: 'true', 'update-secret': '1BAD', 'github-token': 't' }, /not a valid secret name/],
    [{ keyroll: 'true', 'update-secret': 'GITHUB_KEY', 'github-token': 't' }, /not a valid secret name/],
    [{ keyroll: 'true', 'update-secret-environment': 'prod' }, /without update-secret/],
    [{ 'cli-version': 'v3.1' }, /cli-version input "v3.1" is not a Convox CLI version/],
    [{ 'cli-version': 'v3.24.9' }, /is not a Convox CLI version/],
    [{ 'cli-version': 'banana' }, /cli-version input "banana" is not a Convox CLI version/],
    [{ 'cli-download-url': 'https://m.example.com/{version}/{asset}' }, /cli-download-url is set without/],
    [
      { 'cli-version': 'latest', 'cli-download-url': 'https://m.example.com/{version}' },
      /not a URL template/
    ],
    [{ 'cli-version': 'latest', 'cli-download-url': 'ftp://m/{version}/{asset}' }, /not a URL template/]
  ])('refuses %j', (given, message) => {
    expect(() => parse({ ...base, ...given })).toThrow(message)
  })

  it('reads the keyroll and CLI inputs', () => {
    const inputs = parse({
      ...base,
      keyroll: 'true',
      'keyroll-timeout': '45m',
      'password-next': ' NextKey123 ',
      'update-secret': 'CONVOX_PASSWORD',
      'update-secret-environment': 'production',
      'github-token': 'ghs_token',
      'cli-version': '20240101000000',
      'cli-download-url': 'https://m.example.com/convox/{version}/{asset}',
      'cli-token': 'ghs_cli'
    })
    expect(inputs).toMatchObject({
      keyroll: true,
      keyrollTimeoutMs: 45 * 60_000,
      passwordNext: 'NextKey123',
      updateSecret: 'CONVOX_PASSWORD',
      updateSecretEnvironment: 'production',
      githubToken: 'ghs_token',
      cliVersion: '20240101000000',
      cliDownloadUrl: 'https://m.example.com/convox/{version}/{asset}',
      cliToken: 'ghs_cli'
    })
    expect(parse({ ...base, 'cli-version': '3.24.9' }).cliVersion).toBe('3.24.9')
    expect(parse({ ...base, 'cli-version': 'latest' }).cliVersion).toBe('latest')
  })

  it('keeps a PEM ca-cert, trimmed', () => {
    expect(parse({ ...base, 'ca-cert': `\n${PEM}\n` }).caCert).toBe(PEM.trim())
  })
})
