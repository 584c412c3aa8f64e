import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Flags } from '../../src/cli/args.ts'
import { flagNaming, UsageError } from '../../src/cli/args.ts'
import type { Ci } from '../../src/cli/ci.ts'
import { detectCi } from '../../src/cli/ci.ts'
import type { Context } from '../../src/cli/options.ts'
import { installSettings, loginSettings, logoutSettings, namingOf } from '../../src/cli/options.ts'
import { keyrollSettings } from '../../src/cli/stores.ts'
import { loginWarnings } from '../../src/core/resolve.ts'
import { mintRackToken } from '../../test-support/rack-tokens.ts'

/**
 * The command's option rules, in process, as __tests__/action/inputs.test.ts has them for the
 * action: each rule, and the sentence it refuses with, in the command's words.
 */

const HOME = '/home/ci'
const KEY = 'RackKeyAbcdefGhijkl'
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n'
const roots: string[] = []

afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-options-'))
  roots.push(dir)
  return dir
}

function context(env: Record<string, string> = {}, stdin = ''): Context {
  return {
    env: { CONVOX_PASSWORD: KEY, ...env },
    home: HOME,
    cwd: '/work',
    ci: detectCi(env),
    stdoutIsTerminal: false,
    readStdin: () => stdin,
    secrets: []
  }
}

/** The sentence a rule refuses with; every refusal is a usage error of that command. */
function refusal(
  fn: () => unknown,
  command: 'login' | 'keyroll' | 'logout' | 'install-cli' = 'login'
): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).command).toBe(command)
    return (error as UsageError).message
  }
  throw new Error('accepted')
}

const login = (flags: Flags, env?: Record<string, string>, stdin?: string) =>
  loginSettings(flags, context(env, stdin))
const keyroll = (flags: Flags, env?: Record<string, string>) => keyrollSettings(flags, context(env))

describe('login settings', () => {
  it('applies the defaults', () => {
    const settings = login({})
    expect(settings).toMatchObject({
      host: 'console.convox.com',
      password: KEY,
      credential: { kind: 'password', user: 'convox' },
      rack: '',
      validate: true,
      configDir: path.join(HOME, '.convox'),
      caCert: '',
      insecure: false,
      retryForMs: 60_000,
      keyroll: false,
      target: 'sh'
    })
    expect(settings.stateFile).toMatch(
      /^\/home\/ci\/\.local\/state\/convox-login\/config-[0-9a-f]{16}\.json$/
    )
  })

  it('takes the host and rack from the flags before CONVOX_HOST and CONVOX_RACK', () => {
    const env = { CONVOX_HOST: 'env.example.com', CONVOX_RACK: 'acme/env' }
    expect(login({}, env)).toMatchObject({ host: 'env.example.com', rack: 'acme/env' })
    expect(login({ host: 'HTTPS://Flag.Example.com:443/', rack: 'prod' }, env)).toMatchObject({
      host: 'flag.example.com',
      rack: 'prod'
    })
  })

  it('reads the key from standard input or a file, never both, and records it for redaction', () => {
    const ctx = context({}, `StdinKey123\n`)
    expect(loginSettings({ 'password-stdin': true }, ctx).password).toBe('StdinKey123')
    expect(ctx.secrets).toContain('StdinKey123')
    const file = path.join(tempDir(), 'key')
    fs.writeFileSync(file, 'FileKey123\n')
    expect(login({ 'password-file': file }).password).toBe('FileKey123')
    expect(refusal(() => login({ 'password-stdin': true, 'password-file': file }))).toBe(
      'Both --password-stdin and --password-file are given: read the key from one of them.'
    )
  })

  it.each([
    [{}, { CONVOX_PASSWORD: '' }, /^No key: set CONVOX_PASSWORD \(from a masked secret of your CI\)/],
    [{ 'password-stdin': true }, {}, /^No key: standard input \(--password-stdin\) is empty\.$/],
    [
      {},
      { CONVOX_PASSWORD: 'two\nlines' },
      /^The key \(CONVOX_PASSWORD, --password-stdin or --password-file\) contains a line break/
    ],
    [
      { 'password-file': '/nonexistent/key' },
      {},
      /^--password-file \/nonexistent\/key cannot be read \(ENOENT\)/
    ]
  ] as const)('refuses a missing or broken key: %j %j', (flags, env, message) => {
    expect(refusal(() => login({ ...flags }, { ...env }))).toMatch(message)
  })

  it('refuses a rack access token without a host, in the flags it has', () => {
    const token = mintRackToken('made-up-signing-key', { role: 'rw', expiresAt: 1_900_000_000 })
    expect(refusal(() => login({}, { CONVOX_PASSWORD: token }))).toBe(
      'The key (CONVOX_PASSWORD, --password-stdin or --password-file) is a rack access token, which only its rack ' +
        "accepts, but neither --host nor CONVOX_HOST is given (so console.convox.com): set --host to the rack's host."
    )
    expect(login({}, { CONVOX_PASSWORD: token, CONVOX_HOST: 'rack.example.com' }).credential.user).toBe('jwt')
  })

  it.each([
    [
      { rack: 'a/b/c' },
      '--rack "a/b/c" is not a rack name: use <org>/<rack> (such as acme/production) or a bare rack name.'
    ],
    [{ 'retry-for': 'soon' }, /^--retry-for "soon" is not a duration/],
    [{ host: 'rack.example.com/api' }, /^--host "rack.example.com\/api" has a path, query or fragment/],
    [{ 'config-dir': '~bob/convox' }, /^--config-dir "~bob\/convox" starts with ~user/],
    [{ format: 'zsh' }, /^--format "zsh" is not a format: use auto, sh, fish/],
    [
      { format: 'github' },
      '--format github needs GITHUB_ENV, which only a GitHub Actions step has: use --format sh here.'
    ]
  ] as const)('refuses %j', (flags, message) => {
    const text = refusal(() => login({ ...flags }))
    if (typeof message === 'string') expect(text).toBe(message)
    else expect(text).toMatch(message)
  })

  it('reads --ca-cert-file, refuses what is not a PEM certificate, and not together with --insecure', () => {
    const dir = tempDir()
    const pem = path.join(dir, 'ca.pem')
    fs.writeFileSync(pem, PEM)
    expect(login({ 'ca-cert-file': pem }).caCert).toBe(PEM.trim())
    const junk = path.join(dir, 'junk.pem')
    fs.writeFileSync(junk, 'not a certificate')
    expect(refusal(() => login({ 'ca-cert-file': junk }))).toMatch(/^--ca-cert-file is not a PEM certificate/)
    expect(refusal(() => login({ 'ca-cert-file': pem, insecure: true }))).toBe(
      'Both --ca-cert-file and --insecure are set: trust the CA with --ca-cert-file, or skip verification with --insecure, not both.'
    )
  })

  it('warns of --insecure in its own words', () => {
    const settings = login({ insecure: true, host: 'rack.example.com' })
    expect(loginWarnings(settings, flagNaming())).toEqual([
      '--insecure is given: the TLS certificate of rack.example.com is not verified, so a machine in the middle could read the key.'
    ])
    expect(loginWarnings(login({}), flagNaming())).toEqual([])
  })

  it.each([
    [{ GITHUB_ACTIONS: 'true' }, '$RUNNER_TEMP/convox'],
    [{ GITLAB_CI: 'true' }, '"$CI_BUILDS_DIR/convox-$CI_JOB_ID"'],
    [{ TF_BUILD: 'True' }, '$(Agent.TempDirectory)/convox'],
    [{ JENKINS_URL: 'https://ci.example.com' }, '"$(mktemp -d)/convox"']
  ])('suggests a settings directory outside the checkout that %j has', (ciEnv, suggestion) => {
    const workspace = tempDir()
    const ci: Ci = { ...detectCi(ciEnv), workspace }
    const ctx = { ...context(ciEnv), ci }
    const text = refusal(() => loginSettings({ 'config-dir': path.join(workspace, '.convox') }, ctx))
    expect(text).toBe(
      `--config-dir "${path.join(workspace, '.convox')}" is inside the workspace, where a later step could commit or ` +
        `upload the key: use a directory outside it, such as ${suggestion}.`
    )
    expect(text).not.toContain('${{')
  })

  it('refuses a --dotenv-file whose directory does not exist', () => {
    expect(refusal(() => login({ 'dotenv-file': '/nonexistent/dir/report.env' }))).toBe(
      '--dotenv-file /nonexistent/dir/report.env: the directory /nonexistent/dir does not exist; create it first.'
    )
  })

  it('asks CircleCI for BASH_ENV, and keeps stdout clean on GitHub Actions', () => {
    expect(refusal(() => login({}, { CIRCLECI: 'true' }))).toMatch(/^BASH_ENV is not set/)
    expect(login({}, { CIRCLECI: 'true', BASH_ENV: '/tmp/bash_env' }).target).toBe('bash-env')
    expect(
      refusal(() => login({ format: 'sh' }, { GITHUB_ACTIONS: 'true', GITHUB_ENV: '/tmp/env' }))
    ).toMatch(/^--format sh on GitHub Actions would mix the runner's masking commands/)
  })
})

describe('keyroll settings', () => {
  const store = { 'next-password-file': '' }

  it('needs the API', () => {
    const file = path.join(tempDir(), 'next')
    expect(refusal(() => keyroll({ 'no-validate': true, 'next-password-file': file }), 'keyroll')).toBe(
      'keyroll needs the API, but --no-validate is given: remove --no-validate to roll the key.'
    )
  })

  it('needs somewhere for the new key', () => {
    expect(refusal(() => keyroll({}), 'keyroll')).toMatch(
      /^A keyroll makes a new key, which needs somewhere to go: pass --github-secret NAME, --gitlab-variable NAME/
    )
  })

  it('keeps the key in a GitHub secret with a token that may write it, named by GitHub rules', () => {
    const env = { GITHUB_TOKEN: 'ghs_token', GITHUB_REPOSITORY: 'acme/app' }
    expect(keyroll({ 'github-secret': 'CONVOX_PASSWORD' }, env).store).toEqual({
      kind: 'github',
      name: 'CONVOX_PASSWORD',
      repository: 'acme/app',
      environment: undefined,
      token: 'ghs_token',
      apiUrl: 'https://api.github.com'
    })
    expect(
      refusal(
        () => keyroll({ 'github-secret': 'CONVOX_PASSWORD' }, { GITHUB_REPOSITORY: 'acme/app' }),
        'keyroll'
      )
    ).toBe(
      '--github-secret needs a GITHUB_TOKEN that may write Actions secrets: pass a fine-grained token or a GitHub App token.'
    )
    expect(refusal(() => keyroll({ 'github-secret': 'GITHUB_KEY' }, env), 'keyroll')).toMatch(
      /^--github-secret "GITHUB_KEY" is not a valid secret name/
    )
    expect(
      refusal(() => keyroll({ 'github-secret': 'CONVOX_PASSWORD' }, { GITHUB_TOKEN: 't' }), 'keyroll')
    ).toBe('--github-secret needs a repository: pass --github-repo owner/name (or set GITHUB_REPOSITORY).')
    expect(refusal(() => keyroll({ 'github-repo': 'acme/app' }, env), 'keyroll')).toBe(
      '--github-repo is given without --github-secret: name the secret to update in --github-secret.'
    )
  })

  it('puts the instance key in an environment secret with --github-environment, as the action does', () => {
    const env = { GITHUB_TOKEN: 'ghs_token', GITHUB_REPOSITORY: 'acme/app' }
    const flags = { 'instances-only': true, 'ssh-key-github-secret': 'CONVOX_RACK_SSH_KEY' }
    expect(keyroll({ ...flags, 'github-environment': 'production' }, env).sshKeyStore).toEqual({
      kind: 'github',
      name: 'CONVOX_RACK_SSH_KEY',
      repository: 'acme/app',
      environment: 'production',
      token: 'ghs_token',
      apiUrl: 'https://api.github.com'
    })
    expect(keyroll(flags, env).sshKeyStore).toMatchObject({ kind: 'github', environment: undefined })
  })

  it('keeps the key in a GitLab variable with GITLAB_TOKEN, never CI_JOB_TOKEN', () => {
    const env = {
      GITLAB_TOKEN: 'glpat',
      CI_PROJECT_ID: '42',
      CI_API_V4_URL: 'https://gitlab.example.com/api/v4'
    }
    expect(keyroll({ 'gitlab-variable': 'CONVOX_PASSWORD' }, env).store).toMatchObject({
      kind: 'gitlab',
      project: '42'
    })
    expect(
      refusal(() => keyroll({ 'gitlab-variable': 'CONVOX_PASSWORD' }, { CI_JOB_TOKEN: 'job' }), 'keyroll')
    ).toMatch(/^--gitlab-variable needs GITLAB_TOKEN: CI_JOB_TOKEN cannot write CI\/CD variables/)
    expect(
      refusal(
        () => keyroll({ 'gitlab-variable': 'V' }, { GITLAB_TOKEN: 'glpat', CI_PROJECT_ID: '42' }),
        'keyroll'
      )
    ).toMatch(/^--gitlab-variable needs GitLab's API URL in CI_API_V4_URL/)
    expect(
      refusal(
        () => keyroll({ 'gitlab-variable': 'V', 'github-secret': 'V' }, { ...env, GITHUB_TOKEN: 't' }),
        'keyroll'
      )
    ).toBe('Both --github-secret and --gitlab-variable are given: keep the key in one store.')
  })

  it('reads a pending key from --next-password-file, and a missing file as none', () => {
    const dir = tempDir()
    const file = path.join(dir, 'next')
    expect(keyroll({ 'next-password-file': file }).passwordNext).toBe('')
    fs.writeFileSync(file, 'PendingKey123\n')
    const settings = keyroll({ 'next-password-file': file })
    expect(settings).toMatchObject({
      passwordNext: 'PendingKey123',
      nextPasswordFile: file,
      store: { kind: 'file' }
    })
    fs.writeFileSync(file, 'two\nkeys\n')
    expect(refusal(() => keyroll({ 'next-password-file': file }), 'keyroll')).toBe(
      '--next-password-file contains a line break or another control character: the file must hold one key on one line.'
    )
  })

  it.each([
    ['0s', '--timeout is zero: give the rack time to apply the key, such as 30m.'],
    ['later', /^--timeout "later" is not a duration/]
  ])('refuses --timeout %s', (timeout, message) => {
    const file = path.join(tempDir(), 'next')
    const text = refusal(() => keyroll({ timeout, 'next-password-file': file }), 'keyroll')
    if (typeof message === 'string') expect(text).toBe(message)
    else expect(text).toMatch(message)
  })

  it('defaults the timeout to 30 minutes', () => {
    const file = path.join(tempDir(), 'next')
    expect(keyroll({ ...store, 'next-password-file': file }).keyrollTimeoutMs).toBe(30 * 60_000)
  })
})

describe('logout and install-cli settings', () => {
  it('restores CONVOX_CONFIG when no --config-dir is given', () => {
    expect(logoutSettings({}, context({ CONVOX_CONFIG: '/tmp/convox-a' })).configDir).toBe('/tmp/convox-a')
    expect(logoutSettings({ 'config-dir': '~/b' }, context({ CONVOX_CONFIG: '/tmp/a' })).configDir).toBe(
      path.join(HOME, 'b')
    )
  })

  it.each([
    [{}, 'install-cli needs --version: latest, a v3 version such as 3.24.9, or a v2 timestamp.'],
    [{ version: 'v3.24.9' }, /^--version "v3.24.9" is not a Convox CLI version/],
    [
      { version: '3.24.9', 'download-url': 'https://m.example.com/convox' },
      /^--download-url "https:\/\/m.example.com\/convox" is not a URL template/
    ]
  ] as const)('refuses %j', (flags, message) => {
    const text = refusal(() => installSettings({ ...flags }, context()), 'install-cli')
    if (typeof message === 'string') expect(text).toBe(message)
    else expect(text).toMatch(message)
  })

  it('caches under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(installSettings({ version: 'latest' }, context()).cacheDir).toBe(
      path.join(HOME, '.cache', 'convox-login')
    )
    expect(installSettings({ version: 'latest' }, context({ XDG_CACHE_HOME: '/c' })).cacheDir).toBe(
      '/c/convox-login'
    )
  })
})

describe("the command's naming", () => {
  const naming = namingOf(context())

  it.each([
    ['ca-cert', '--ca-cert-file'],
    ['insecure', '--insecure'],
    ['password-next', '--next-password-file'],
    ['cli-download-url', '--download-url'],
    ['cli-version', '--version'],
    ['keyroll-timeout', '--timeout'],
    ['update-secret', '--github-secret'],
    ['github-token', 'GITHUB_TOKEN'],
    ['retry-for', '--retry-for'],
    ['config-dir', '--config-dir'],
    ['rack', '--rack']
  ])('names %s as %s', (input, said) => {
    expect(naming.ref(input)).toBe(said)
  })

  it('sets and unsets options as the command line does', () => {
    expect(naming.set('validate', 'false')).toBe('--no-validate')
    expect(naming.set('insecure', 'true')).toBe('--insecure')
    expect(naming.set('keyroll', 'true')).toBe('convox-login keyroll')
    expect(naming.unset('keyroll', 'true')).toBe('use convox-login login')
    expect(naming.set('export-env', 'false')).toBe('--format none')
    expect(naming.has('rack-url')).toBe(false)
  })
})
