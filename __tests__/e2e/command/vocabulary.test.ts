import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { FLAG_NAMING } from '../../../src/cli/args.ts'
import { cliAsset } from '../../../src/core/cli-install/release.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { FakeGitHub } from '../../../test-support/fake-github.ts'
import { startFakeGitHub } from '../../../test-support/fake-github.ts'
import type { FakeGitLab } from '../../../test-support/fake-gitlab.ts'
import { startFakeGitLab } from '../../../test-support/fake-gitlab.ts'
import type { FakeMirror } from '../../../test-support/fake-mirror.ts'
import { startFakeMirror } from '../../../test-support/fake-mirror.ts'
import { mintRackToken } from '../../../test-support/rack-tokens.ts'
import type { CliOptions, Machine } from '../../../test-support/run-cli.ts'
import { machinePool, runCli } from '../../../test-support/run-cli.ts'
import { closedPort, listenOnLoopback } from '../../../test-support/tls.ts'
import { actionWords, escape, INPUTS } from '../../../test-support/action-words.ts'

/**
 * The command speaks its own language: every failure it can print, run through the built
 * dist/convox-login.cjs against the loopback fakes, is read for the action's vocabulary. The
 * action's inputs (read from action.yml) may appear only as the command's flags (`--rack`), never
 * as the action names them (`rack-url`, `keyroll: true`, `the rack input`, `${{ ... }}`).
 */

const KEY = 'RackKeyVocabulary0123456789'
const CONSOLE_TOKEN = 'ConsoleCliTokenVocabulary0123'
const GITHUB_TOKEN = 'github_pat_11WriteTokenVocabulary'
const READ_ONLY = 'github_pat_11ReadOnlyVocabulary'
const GITLAB_READ_ONLY = 'glpat-DeveloperVocabulary987'

let rack: FakeConvox
let v3Rack: FakeConvox
let consoleHost: FakeConvox
let github: FakeGitHub
let gitlab: FakeGitLab
let mirror: FakeMirror
let plainHttp: { port: number; close: () => Promise<void> }
let refusedPort: number
const machines = machinePool()

beforeAll(async () => {
  const server = http.createServer((_req, res) => res.end('hello'))
  ;[rack, v3Rack, consoleHost, github, gitlab, mirror, plainHttp, refusedPort] = await Promise.all([
    startFakeConvox({ kind: 'rack', rack: { name: 'production', password: KEY } }),
    startFakeConvox({ kind: 'rack', rack: { name: 'modern', password: KEY, version: '3.21.3' } }),
    startFakeConvox({
      kind: 'console',
      users: [{ token: CONSOLE_TOKEN, id: 'user-7' }],
      racks: [{ org: 'acme', name: 'production' }]
    }),
    startFakeGitHub({ tokens: [GITHUB_TOKEN], readOnlyTokens: [READ_ONLY] }),
    startFakeGitLab({ tokens: ['glpat-WriteVocabulary0123456'], readOnlyTokens: [GITLAB_READ_ONLY] }),
    startFakeMirror(),
    listenOnLoopback(server),
    closedPort()
  ])
})

afterAll(async () => {
  await Promise.all([rack, v3Rack, consoleHost, github, gitlab, mirror, plainHttp].map(s => s.close()))
  machines.removeAll()
})

interface Case {
  args: string[]
  options?: CliOptions
  /** The exit status: 2 for a command line to correct, 1 for work that failed. */
  code: 1 | 2
  /** What the sentence is about, so that a case cannot pass by failing some other way. */
  says: RegExp
}

const key = (extra: Record<string, string> = {}) => ({ options: { env: { CONVOX_PASSWORD: KEY, ...extra } } })
const token = () => mintRackToken('vocabulary-signing-key', { role: 'rw', expiresAt: 1_900_000_000 })
const githubEnv = (t: string) => ({
  CONVOX_PASSWORD: KEY,
  GITHUB_TOKEN: t,
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_API_URL: github.apiUrl
})
const gitlabEnv = (t: string, project = gitlab.projectId) => ({
  CONVOX_PASSWORD: KEY,
  GITLAB_TOKEN: t,
  CI_PROJECT_ID: project,
  CI_API_V4_URL: gitlab.apiUrl
})

/** Each failure, made on a fresh machine (a HOME of its own, and a work directory for files). */
const CASES: Record<string, (m: Machine) => Case> = {
  'an unknown flag': () => ({ args: ['login', '--bogus'], code: 2, says: /Unknown flag "--bogus"/ }),
  'the key as a flag': () => ({ args: ['login', '--password', KEY], code: 2, says: /process list/ }),
  'a flag twice': () => ({
    args: ['login', '--rack', 'a', '--rack', 'b'],
    ...key(),
    code: 2,
    says: /given twice/
  }),
  'a bad rack name': () => ({
    args: ['login', '--rack', 'a/b/c'],
    ...key(),
    code: 2,
    says: /not a rack name/
  }),
  'a bad duration': () => ({
    args: ['login', '--retry-for', 'soon'],
    ...key(),
    code: 2,
    says: /not a duration/
  }),
  'a bad switch value': () => ({
    args: ['login', '--insecure=maybe'],
    ...key(),
    code: 2,
    says: /not a boolean/
  }),
  'an unknown format': () => ({
    args: ['login', '--format', 'zsh'],
    ...key(),
    code: 2,
    says: /not a format/
  }),
  'no key': () => ({ args: ['login'], code: 2, says: /^convox-login: No key/ }),
  'a token without a host': () => ({
    args: ['login'],
    options: { env: { CONVOX_PASSWORD: token() } },
    code: 2,
    says: /rack access token, which only its rack accepts/
  }),
  'a CA file that is not PEM': m => {
    fs.writeFileSync(path.join(m.work, 'ca.pem'), 'not a certificate')
    return { args: ['login', '--ca-cert-file', 'ca.pem'], ...key(), code: 2, says: /not a PEM certificate/ }
  },
  'a CA file and --insecure': m => {
    fs.writeFileSync(
      path.join(m.work, 'ca.pem'),
      '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n'
    )
    return { args: ['login', '--ca-cert-file', 'ca.pem', '--insecure'], ...key(), code: 2, says: /not both/ }
  },
  'a settings directory in the GitHub workspace': m => ({
    args: ['login', '--config-dir', path.join(m.work, '.convox'), '--format', 'github'],
    ...key({ GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: m.work, GITHUB_ENV: path.join(m.root, 'env') }),
    code: 2,
    says: /inside the workspace.*\$RUNNER_TEMP\/convox/
  }),
  'a settings directory in the GitLab checkout': m => ({
    args: ['login', '--config-dir', path.join(m.work, '.convox')],
    ...key({ GITLAB_CI: 'true', CI_PROJECT_DIR: m.work }),
    code: 2,
    says: /inside the workspace.*CI_BUILDS_DIR/
  }),
  'the wrong key': () => ({
    args: ['login', '--host', rack.host],
    options: { env: { CONVOX_PASSWORD: 'NotTheRackKey0123456789' } },
    code: 1,
    says: /rejected the password/
  }),
  'a host that does not resolve': () => ({
    args: ['login', '--host', 'does-not-exist.invalid', '--retry-for', '0s'],
    ...key(),
    code: 1,
    says: /Cannot resolve/
  }),
  'a port nothing listens on': () => ({
    args: ['login', '--host', `127.0.0.1:${refusedPort}`, '--retry-for', '0s'],
    ...key(),
    code: 1,
    says: /refused the connection/
  }),
  'a plain HTTP port': () => ({
    args: ['login', '--host', `127.0.0.1:${plainHttp.port}`, '--retry-for', '0s'],
    ...key(),
    code: 1,
    says: /speaks plain HTTP/
  }),
  'a certificate no CA vouches for': () => ({
    args: ['login', '--host', rack.host],
    options: { env: { CONVOX_PASSWORD: KEY }, untrusted: true },
    code: 1,
    says: /TLS verification/
  }),
  'a rack the key cannot see': () => ({
    args: ['login', '--host', consoleHost.host, '--rack', 'nope'],
    options: { env: { CONVOX_PASSWORD: CONSOLE_TOKEN } },
    code: 1,
    says: /cannot see a rack "nope"/
  }),
  'a rack that is another rack': () => ({
    args: ['login', '--host', rack.host, '--rack', 'staging'],
    ...key(),
    code: 1,
    says: /is the rack "production", not "staging"/
  }),
  'a bare rack name without validation': () => ({
    args: ['login', '--no-validate', '--rack', 'production'],
    options: { env: { CONVOX_PASSWORD: CONSOLE_TOKEN } },
    code: 1,
    says: /cannot be looked up/
  }),
  'a settings directory that is a file': m => {
    fs.writeFileSync(path.join(m.work, 'not-a-dir'), '')
    return {
      args: ['login', '--host', rack.host, '--config-dir', path.join(m.work, 'not-a-dir')],
      ...key(),
      code: 1,
      says: /Cannot read the Convox settings in .*a part of the path is a file/
    }
  },
  'a settings file that is a directory': m => {
    fs.mkdirSync(path.join(m.work, 'convox', 'auth'), { recursive: true })
    return {
      args: ['login', '--host', rack.host, '--config-dir', path.join(m.work, 'convox')],
      ...key(),
      code: 1,
      says: /auth is not a regular file/
    }
  },
  'a state file that is a directory': m => {
    fs.mkdirSync(path.join(m.work, 'state'))
    return {
      args: ['login', '--host', rack.host, '--state-file', 'state'],
      ...key(),
      code: 1,
      says: /state file .* is not a regular file/
    }
  },
  'a keyroll on a Console': m => ({
    args: ['keyroll', '--host', consoleHost.host, '--next-password-file', path.join(m.work, 'next')],
    options: { env: { CONVOX_PASSWORD: CONSOLE_TOKEN } },
    code: 1,
    says: /on a Console login needs --rack/
  }),
  'a keyroll of a token': m => ({
    args: ['keyroll', '--host', rack.host, '--next-password-file', path.join(m.work, 'next')],
    options: { env: { CONVOX_PASSWORD: token() } },
    // Refused while the flags are read: a usage error, nothing sent.
    code: 2,
    says: /cannot roll a rack access token/
  }),
  'a keyroll on a v3 rack': m => ({
    args: ['keyroll', '--host', v3Rack.host, '--next-password-file', path.join(m.work, 'next')],
    ...key(),
    code: 1,
    says: /v3 rack/
  }),
  'a keyroll with nowhere to keep the key': () => ({
    args: ['keyroll', '--host', rack.host],
    ...key(),
    code: 2,
    says: /needs somewhere to go/
  }),
  'a keyroll without validation': m => ({
    args: ['keyroll', '--no-validate', '--next-password-file', path.join(m.work, 'next')],
    ...key(),
    code: 2,
    says: /keyroll needs the API/
  }),
  'a keyroll with a zero timeout': m => ({
    args: ['keyroll', '--timeout', '0s', '--next-password-file', path.join(m.work, 'next')],
    ...key(),
    code: 2,
    says: /is zero/
  }),
  'a GitHub secret without a token': () => ({
    args: ['keyroll', '--host', rack.host, '--github-secret', 'CONVOX_PASSWORD'],
    options: { env: { ...githubEnv(''), GITHUB_TOKEN: '' } },
    code: 2,
    says: /needs a GITHUB_TOKEN/
  }),
  'a GitHub token GitHub does not know (401)': () => ({
    args: ['keyroll', '--host', rack.host, '--github-secret', 'CONVOX_PASSWORD', '--timeout', '5s'],
    options: { env: githubEnv('github_pat_11UnknownToken') },
    code: 1,
    says: /GitHub answered 401/
  }),
  'a GitHub token that may not write secrets (403)': () => ({
    args: ['keyroll', '--host', rack.host, '--github-secret', 'CONVOX_PASSWORD', '--timeout', '5s'],
    options: { env: githubEnv(READ_ONLY) },
    code: 1,
    says: /GitHub answered 40[34]/
  }),
  'a GitHub repository that does not exist (404)': () => ({
    args: [
      'keyroll',
      '--host',
      rack.host,
      '--github-secret',
      'CONVOX_PASSWORD',
      '--github-repo',
      'acme/gone'
    ],
    options: { env: githubEnv(GITHUB_TOKEN) },
    code: 1,
    says: /GitHub answered 404/
  }),
  'a GitLab token that may not write variables (403)': () => ({
    args: ['keyroll', '--host', rack.host, '--gitlab-variable', 'CONVOX_PASSWORD'],
    options: { env: gitlabEnv(GITLAB_READ_ONLY) },
    code: 1,
    says: /GitLab answered 403/
  }),
  'a GitLab project that does not exist (404)': () => ({
    args: ['keyroll', '--host', rack.host, '--gitlab-variable', 'CONVOX_PASSWORD'],
    options: { env: gitlabEnv('glpat-WriteVocabulary0123456', '999') },
    code: 1,
    says: /GitLab answered 404/
  }),
  'a CLI version the mirror does not have (404)': () => ({
    args: ['install-cli', '--version', '3.99.0', '--download-url', `${mirror.url}/convox/{version}/{asset}`],
    code: 1,
    says: new RegExp(
      `no ${escape(cliAsset('3.99.0', process.platform, process.arch, FLAG_NAMING).asset)} for 3\\.99\\.0`
    )
  }),
  'a CLI version that is not one': () => ({
    args: ['install-cli', '--version', 'v3.24.9'],
    code: 2,
    says: /not a Convox CLI version/
  }),
  'a mirror URL without a template': () => ({
    args: ['install-cli', '--version', '3.24.9', '--download-url', `${mirror.url}/convox`],
    code: 2,
    says: /not a URL template/
  }),
  'a mirror URL without a version': () => ({
    args: ['install-cli', '--download-url', `${mirror.url}/{version}/{asset}`],
    code: 2,
    says: /needs --version/
  })
}

describe('the vocabulary check', () => {
  it('reads every input of action.yml', () => {
    expect(INPUTS).toEqual(
      expect.arrayContaining(['rack-url', 'password-next', 'keyroll', 'validate', 'cli-token'])
    )
    expect(INPUTS.length).toBeGreaterThanOrEqual(20)
  })

  it.each([
    ['pass its CA in ca-cert, or set insecure: true', ['ca-cert', 'insecure']],
    ['Choose a config-dir this job can write, such as ${{ runner.temp }}/convox.', ['${{', 'config-dir']],
    ['set the rack input to one of them', ['input', 'rack']],
    ['run again with keyroll: true and password-next set to it', ['keyroll', 'password-next']],
    ['remove validate: false to roll the key', ['validate']],
    ['keyroll needs the API, but validate is false', ['validate']],
    ['pin cli-version to a version', ['cli-version']],
    ['raise retry-for', ['retry-for']],
    ['check cli-download-url and cli-version', ['cli-download-url', 'cli-version']],
    ['add it under with: in the step', ['with:']],
    ['check that github-token may write', ['github-token']]
  ])('finds the action in %j', (sentence, words) => {
    const found = actionWords(sentence)
    for (const word of words) expect(found.some(f => f.startsWith(`${word} in`))).toBe(true)
  })

  it.each([
    'pass its CA in --ca-cert-file, or set --insecure to skip verification.',
    'Choose a --config-dir this job can write, such as "$(mktemp -d)/convox".',
    'run again with convox-login keyroll and --next-password-file set to it; the rack password is not a token.',
    'The key (CONVOX_PASSWORD, --password-stdin or --password-file) is a rack access token; set --host to the host.',
    'check --download-url and --version; --github-secret needs a GITHUB_TOKEN; undo with convox-login logout.'
  ])('finds nothing in the command sentence %j', sentence => {
    expect(actionWords(sentence)).toEqual([])
  })
})

describe('every failure the command prints is in its own words', () => {
  it('covers at least 25 failures', () => {
    expect(Object.keys(CASES).length).toBeGreaterThanOrEqual(25)
  })

  it.each(Object.keys(CASES))('%s', async name => {
    const m = machines.fresh()
    const { args, options, code, says } = CASES[name]!(m)
    const result = await runCli(m, args, { timeoutMs: 30_000, ...options })
    const printed = `${result.stderr}\n${result.stdout}`
    expect(printed).toMatch(says)
    expect(result.code).toBe(code)
    expect(actionWords(printed)).toEqual([])
  })
})
