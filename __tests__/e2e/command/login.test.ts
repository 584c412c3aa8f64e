import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { rackUrl } from '../../../src/core/secrets.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { parseFileCommands } from '../../../test-support/run-action.ts'
import type { CliResult, Machine } from '../../../test-support/run-cli.ts'
import { CLI, cliLeaks, evalInBash, KEY_LINES, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { mode, snapshot } from '../../../test-support/settings-dir.ts'
import { testTls } from '../../../test-support/tls.ts'

/**
 * convox-login login and logout end to end: dist/convox-login.cjs runs as a child process in each
 * CI's emulated environment (its variables, BASH_ENV, a buildkite-agent on PATH), against loopback
 * HTTPS fakes of a Rack and a Console. What it prints is read back the way the CI or a shell
 * reads it (bash eval, BASH_ENV sourced, GITHUB_ENV parsed), and every scenario checks that no
 * form of the key is printed anywhere but in the lines that hand it over.
 */

const RACK_KEY = 'RackKeyQwErTyUiOpAsDfGhJkL'
/** A key no shell should see as anything but one word: quotes, $(...), backquotes, a backslash. */
const HOSTILE_KEY = `it's "$(touch pwned)" \`id\` \\ $HOME; done`
const CONSOLE_TOKEN = 'ConsoleCliToken0123456789abcdef'
const VARIABLES = ['CONVOX_HOST', 'CONVOX_PASSWORD', 'CONVOX_CONFIG', 'CONVOX_RACK', 'RACK_URL'] as const

let rack: FakeConvox
let hostileRack: FakeConvox
let consoleHost: FakeConvox
const machines = machinePool()

beforeAll(async () => {
  ;[rack, hostileRack, consoleHost] = await Promise.all([
    startFakeConvox({ kind: 'rack', rack: { name: 'production', password: RACK_KEY } }),
    startFakeConvox({ kind: 'rack', rack: { name: 'odd', password: HOSTILE_KEY } }),
    startFakeConvox({
      kind: 'console',
      users: [{ token: CONSOLE_TOKEN, id: 'user-7' }],
      racks: [{ org: 'acme', name: 'production' }]
    })
  ])
})

afterAll(async () => {
  await Promise.all([rack.close(), hostileRack.close(), consoleHost.close()])
  machines.removeAll()
})

function convoxDir(machine: Machine): string {
  return path.join(machine.home, '.convox')
}

function expectNoLeaks(
  result: CliResult,
  allowed: (line: string) => boolean,
  keys = [RACK_KEY],
  host = rack.host
) {
  expect(cliLeaks(result, keys, { host, allowed })).toEqual([])
}

describe('a terminal or Jenkins (sh)', () => {
  it('prints export lines that bash evaluates into the login', async () => {
    const m = machines.fresh()
    const result = await runCli(m, ['login', '--host', rack.host], {
      env: { CONVOX_PASSWORD: RACK_KEY }
    })
    expect(result.code).toBe(0)
    const vars = await evalInBash(result.stdout, VARIABLES)
    expect(vars).toEqual({
      CONVOX_HOST: rack.host,
      CONVOX_PASSWORD: RACK_KEY,
      CONVOX_CONFIG: convoxDir(m),
      RACK_URL: rackUrl(rack.host, RACK_KEY)
    })
    expect(JSON.parse(fs.readFileSync(path.join(convoxDir(m), 'auth'), 'utf8'))).toEqual({
      [rack.host]: RACK_KEY
    })
    expectNoLeaks(result, KEY_LINES.sh)
  })

  it('quotes any key so that eval sets it as it is and runs nothing', async () => {
    const m = machines.fresh()
    const result = await runCli(m, ['login', '--host', hostileRack.host, '--password-stdin'], {
      stdin: `${HOSTILE_KEY}\n`
    })
    expect(result.code).toBe(0)
    const vars = await evalInBash(result.stdout, ['CONVOX_PASSWORD'], {}, m.work)
    expect(vars.CONVOX_PASSWORD).toBe(HOSTILE_KEY)
    expect(fs.existsSync(path.join(m.work, 'pwned'))).toBe(false)
    expectNoLeaks(result, KEY_LINES.sh, [HOSTILE_KEY], hostileRack.host)
  })

  it('takes the key from --password-file, trusts only --ca-cert-file, switches a Console to a rack, clears a stale RACK_URL', async () => {
    const m = machines.fresh()
    const keyFile = path.join(m.work, 'key')
    const caFile = path.join(m.work, 'ca.pem')
    fs.writeFileSync(keyFile, `${CONSOLE_TOKEN}\n`)
    fs.writeFileSync(caFile, testTls().caCert)
    const args = ['login', '--host', consoleHost.host, '--rack', 'production', '--password-file', keyFile]
    const refused = await runCli(m, args, { untrusted: true })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/TLS|certificate/)
    const stale = { RACK_URL: 'https://convox:old@rack.example.com' }
    const result = await runCli(m, [...args, '--ca-cert-file', caFile], { untrusted: true, env: stale })
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('Clearing RACK_URL')
    const vars = await evalInBash(result.stdout, VARIABLES, stale)
    expect(vars.CONVOX_RACK).toBe('acme/production')
    expect(vars.RACK_URL).toBeUndefined()
    expectNoLeaks(result, KEY_LINES.sh, [CONSOLE_TOKEN], consoleHost.host)
  })

  it("says what is wrong with a refused key in the action's sentence, exits 1 and writes nothing", async () => {
    const m = machines.fresh()
    const result = await runCli(m, ['login', '--host', rack.host], {
      env: { CONVOX_PASSWORD: 'WrongKeyAbcdefGhij' }
    })
    expect(result.code).toBe(1)
    // What eval reads fails too, so a script under set -e stops here rather than deploy with old settings.
    expect(result.stdout).toBe('false\n')
    const script = `eval "$('${process.execPath}' '${CLI}' login --host ${rack.host})"; echo went on`
    // Not spawnSync: the fake rack answers from this process, which must keep running meanwhile.
    const bash = await new Promise<{ status: number | null; stdout: string }>(resolve => {
      const child = spawn('bash', ['--norc', '-ec', script], {
        env: {
          PATH: process.env.PATH,
          HOME: m.home,
          CONVOX_PASSWORD: 'WrongKeyAbcdefGhij',
          NODE_EXTRA_CA_CERTS: testTls().caPath
        },
        stdio: ['ignore', 'pipe', 'ignore']
      })
      let stdout = ''
      child.stdout.on('data', chunk => (stdout += chunk))
      child.on('close', status => resolve({ status, stdout }))
    })
    expect({ status: bash.status, stdout: bash.stdout }).toEqual({ status: 1, stdout: '' })
    expect(result.stderr).toMatch(/^convox-login: .*rejected the password/m)
    expect(snapshot(convoxDir(m))).toBe('absent')
    expectNoLeaks(result, KEY_LINES.none, ['WrongKeyAbcdefGhij'])
  })
})

describe('formats', () => {
  it('dotenv prints NAME=value lines; json the outputs without the key; none nothing', async () => {
    const env = { CONVOX_PASSWORD: RACK_KEY }
    const [dotenv, json, none] = await Promise.all(
      ['dotenv', 'json', 'none'].map(format =>
        runCli(machines.fresh(), ['login', '--host', rack.host, '--format', format], { env })
      )
    )
    for (const r of [dotenv, json, none]) expect(r!.code).toBe(0)
    expect(
      Object.fromEntries(
        dotenv!.stdout
          .trim()
          .split('\n')
          .map(l => l.split(/=(.*)/s).slice(0, 2))
      )
    ).toMatchObject({
      CONVOX_HOST: rack.host,
      CONVOX_PASSWORD: RACK_KEY
    })
    expectNoLeaks(dotenv!, KEY_LINES.dotenv)
    const outputs = JSON.parse(json!.stdout) as Record<string, string>
    expect(outputs).toMatchObject({ host: rack.host, kind: 'rack', rack: 'production' })
    expect(outputs).not.toHaveProperty('password')
    expectNoLeaks(json!, KEY_LINES.none)
    expect(none!.stdout).toBe('')
    expectNoLeaks(none!, KEY_LINES.none)
  })

  it('refuses an unknown format as a usage error', async () => {
    const result = await runCli(machines.fresh(), ['login', '--format', 'yaml'], {
      env: { CONVOX_PASSWORD: RACK_KEY }
    })
    expect(result.code).toBe(2)
    // As every usage error: a statement that fails the eval, in the shell auto means here.
    expect(result.stdout).toBe('false\n')
    expect(result.stderr).toContain('--format "yaml" is not a format')
    expect(result.stderr).toContain('usage: convox-login login')
  })
})

describe('each CI', () => {
  it('GitLab CI: export lines for this job, a dotenv report without the key, and a word on masking', async () => {
    const m = machines.fresh()
    const report = path.join(m.work, 'convox.env')
    const result = await runCli(m, ['login', '--host', rack.host, '--dotenv-file', report], {
      env: { GITLAB_CI: 'true', CI_PROJECT_DIR: m.work, CONVOX_PASSWORD: RACK_KEY }
    })
    expect(result.code).toBe(0)
    expect(result.stderr.match(/GitLab masks only variables defined in its CI\/CD settings/g)).toHaveLength(1)
    expect((await evalInBash(result.stdout, ['CONVOX_PASSWORD'])).CONVOX_PASSWORD).toBe(RACK_KEY)
    const lines = fs.readFileSync(report, 'utf8')
    expect(lines).toContain(`CONVOX_HOST=${rack.host}\n`)
    expect(lines).not.toContain(RACK_KEY)
    expect(mode(report)).toBe(0o600)
    expectNoLeaks(result, KEY_LINES.sh)
  })

  it('GitLab CI: refuses a config dir inside the checkout, where an artifact could carry the key', async () => {
    const m = machines.fresh()
    const result = await runCli(
      m,
      ['login', '--host', rack.host, '--config-dir', path.join(m.work, '.convox')],
      {
        env: { GITLAB_CI: 'true', CI_PROJECT_DIR: m.work, CONVOX_PASSWORD: RACK_KEY }
      }
    )
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('is inside the workspace')
    expect(fs.existsSync(path.join(m.work, '.convox'))).toBe(false)
  })

  it('Jenkins: sh export lines, and no settings inside the WORKSPACE', async () => {
    const m = machines.fresh()
    const env = { JENKINS_URL: 'https://jenkins.example.com/', WORKSPACE: m.work, CONVOX_PASSWORD: RACK_KEY }
    const inside = await runCli(
      m,
      ['login', '--host', rack.host, '--config-dir', path.join(m.work, 'convox')],
      { env }
    )
    expect(inside.code).toBe(2)
    expect(inside.stderr).toContain('is inside the workspace')
    const outside = path.join(m.root, 'workspace@tmp', 'convox')
    const result = await runCli(m, ['login', '--host', rack.host, '--config-dir', outside], { env })
    expect(result.code).toBe(0)
    expect((await evalInBash(result.stdout, ['CONVOX_CONFIG'])).CONVOX_CONFIG).toBe(outside)
    expectNoLeaks(result, KEY_LINES.sh)
  })

  it('CircleCI: appends to BASH_ENV, which later steps source; stdout stays empty', async () => {
    const m = machines.fresh()
    const bashEnv = path.join(m.work, 'bash_env')
    fs.writeFileSync(bashEnv, 'export EARLIER=kept\n')
    const result = await runCli(m, ['login', '--host', rack.host], {
      env: {
        CIRCLECI: 'true',
        BASH_ENV: bashEnv,
        CONVOX_PASSWORD: RACK_KEY,
        RACK_URL: 'https://convox:x@stale'
      }
    })
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('')
    expect(result.stderr.match(/CircleCI masks only/g)).toHaveLength(1)
    const vars = await evalInBash(`. '${bashEnv}'`, [...VARIABLES, 'EARLIER'])
    expect(vars).toMatchObject({
      EARLIER: 'kept',
      CONVOX_PASSWORD: RACK_KEY,
      RACK_URL: rackUrl(rack.host, RACK_KEY)
    })
    expectNoLeaks(result, KEY_LINES.none)
  })

  it('Azure Pipelines: setvariable lines, the key and RACK_URL as secrets, and how to map them', async () => {
    const m = machines.fresh()
    const result = await runCli(m, ['login', '--host', rack.host], {
      env: { TF_BUILD: 'True', CONVOX_PASSWORD: RACK_KEY }
    })
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines).toEqual([
      `##vso[task.setvariable variable=CONVOX_HOST]${rack.host}`,
      `##vso[task.setvariable variable=CONVOX_PASSWORD;issecret=true]${RACK_KEY}`,
      `##vso[task.setvariable variable=CONVOX_CONFIG]${convoxDir(m)}`,
      `##vso[task.setvariable variable=RACK_URL;issecret=true]${rackUrl(rack.host, RACK_KEY)}`
    ])
    expect(result.stderr).toContain('env: CONVOX_PASSWORD: $(CONVOX_PASSWORD) and RACK_URL: $(RACK_URL)')
    expectNoLeaks(result, KEY_LINES.azure)
  })

  it('Buildkite: the key goes to buildkite-agent redactor add on stdin, exports on stdout', async () => {
    const m = machines.fresh()
    const bin = path.join(m.work, 'bin')
    const record = path.join(m.work, 'agent-calls')
    fs.mkdirSync(bin)
    fs.writeFileSync(
      path.join(bin, 'buildkite-agent'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\ncat >> '${record}'\nprintf '\\n' >> '${record}'\n`,
      { mode: 0o755 }
    )
    const result = await runCli(m, ['login', '--host', rack.host], {
      env: { BUILDKITE: 'true', CONVOX_PASSWORD: RACK_KEY },
      path: [bin]
    })
    expect(result.code).toBe(0)
    const calls = fs.readFileSync(record, 'utf8').trim().split('\n')
    const redacted = calls
      .filter((_l, i) => i % 2 === 1)
      .flatMap(l => Object.values(JSON.parse(l) as Record<string, string>))
    expect(calls.filter((_l, i) => i % 2 === 0).every(args => args === 'redactor add --format json')).toBe(
      true
    )
    expect(redacted).toEqual(expect.arrayContaining([RACK_KEY, rackUrl(rack.host, RACK_KEY)]))
    expect((await evalInBash(result.stdout, ['CONVOX_PASSWORD'])).CONVOX_PASSWORD).toBe(RACK_KEY)
    expectNoLeaks(result, KEY_LINES.sh)
  })

  it('Buildkite without the agent on PATH: says the key is not redacted, and logs in all the same', async () => {
    const result = await runCli(machines.fresh(), ['login', '--host', rack.host], {
      env: { BUILDKITE: 'true', CONVOX_PASSWORD: RACK_KEY, PATH: path.dirname(process.execPath) }
    })
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('buildkite-agent is not on PATH')
  })

  it("GitHub Actions: the runner's file commands and add-mask before anything else; other formats refused", async () => {
    const m = machines.fresh()
    const files = Object.fromEntries(
      ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_PATH'].map(name => {
        const file = path.join(m.work, name)
        fs.writeFileSync(file, '')
        return [name, file]
      })
    )
    const env = { GITHUB_ACTIONS: 'true', CONVOX_PASSWORD: RACK_KEY, ...files }
    const result = await runCli(m, ['login', '--host', rack.host], { env })
    expect(result.code).toBe(0)
    const stdout = result.stdout.trim().split('\n')
    expect(stdout.every(line => line.startsWith('::add-mask::'))).toBe(true)
    expect(stdout).toContain(`::add-mask::${RACK_KEY}`)
    const exported = parseFileCommands(fs.readFileSync(files.GITHUB_ENV!, 'utf8'))
    expect(exported).toMatchObject({ CONVOX_HOST: rack.host, CONVOX_PASSWORD: RACK_KEY })
    expect(parseFileCommands(fs.readFileSync(files.GITHUB_OUTPUT!, 'utf8'))).toMatchObject({ kind: 'rack' })
    expectNoLeaks(result, KEY_LINES.github)

    const sh = await runCli(m, ['login', '--host', rack.host, '--format', 'sh'], { env })
    expect(sh.code).toBe(2)
    expect(sh.stderr).toContain('--format sh on GitHub Actions')
  })
})

describe('logout', () => {
  it('restores the settings directory as it was, and removes the record', async () => {
    const m = machines.fresh()
    const dir = convoxDir(m)
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "x\\u0026y"\n}', { mode: 0o600 })
    fs.writeFileSync(path.join(dir, 'rack'), 'acme/old', { mode: 0o600 })
    const before = snapshot(dir)
    const stateHome = path.join(m.root, 'state')
    const env = { CONVOX_PASSWORD: RACK_KEY, XDG_STATE_HOME: stateHome }
    const login = await runCli(m, ['login', '--host', rack.host], { env })
    expect(login.code).toBe(0)
    expect(snapshot(dir)).not.toEqual(before)
    const [record] = fs.readdirSync(path.join(stateHome, 'convox-login'))
    expect(mode(path.join(stateHome, 'convox-login', record!))).toBe(0o600)
    expect(mode(path.join(stateHome, 'convox-login'))).toBe(0o700)

    const logout = await runCli(m, ['logout'], { env: { XDG_STATE_HOME: stateHome, CONVOX_CONFIG: dir } })
    expect(logout.code).toBe(0)
    expect(logout.stderr).toContain('Restored the Convox settings')
    expect(snapshot(dir)).toEqual(before)
    // The state directories the login created are gone with its record.
    expect(fs.existsSync(stateHome)).toBe(false)
    expectNoLeaks(logout, KEY_LINES.none)

    const again = await runCli(m, ['logout'], { env: { XDG_STATE_HOME: stateHome } })
    expect(again.code).toBe(0)
    expect(again.stderr).toContain('Nothing to undo')
    expect(snapshot(dir)).toEqual(before)
  })

  it('refuses a record whose login names a file that is not a setting, and changes nothing', async () => {
    const m = machines.fresh()
    const dir = convoxDir(m)
    const state = path.join(m.work, 'state.json')
    const login = await runCli(
      m,
      ['login', '--host', rack.host, '--config-dir', dir, '--state-file', state],
      {
        env: { CONVOX_PASSWORD: RACK_KEY }
      }
    )
    expect(login.code).toBe(0)
    // Edited by hand: the one login now says it created a file outside the CLI's settings.
    const record = JSON.parse(fs.readFileSync(state, 'utf8'))
    record.logins[0].entries.push({ file: '../.bashrc', before: null, created: true, afterSha256: 'x' })
    fs.writeFileSync(state, JSON.stringify(record))
    const before = snapshot(dir)
    const logout = await runCli(m, ['logout', '--config-dir', dir, '--state-file', state])
    expect(logout.code).toBe(0)
    expect(logout.stderr).toContain(`The state file ${state} is not a convox-login record`)
    expect(snapshot(dir)).toEqual(before)
    expectNoLeaks(logout, KEY_LINES.none)
  })

  it('undoes two logins in reverse order, through one --state-file, and removes a directory it made', async () => {
    const m = machines.fresh()
    const dir = path.join(m.root, 'settings', 'convox')
    const state = path.join(m.work, 'state.json')
    const common = ['--config-dir', dir, '--state-file', state]
    const first = await runCli(m, ['login', '--host', rack.host, ...common], {
      env: { CONVOX_PASSWORD: RACK_KEY }
    })
    expect(first.code).toBe(0)
    const afterFirst = snapshot(dir)
    const second = await runCli(m, ['login', '--host', consoleHost.host, ...common], {
      env: { CONVOX_PASSWORD: CONSOLE_TOKEN }
    })
    expect(second.code).toBe(0)
    expect(snapshot(dir)).not.toEqual(afterFirst)

    // A third login that changes nothing is a login all the same: its logout undoes nothing.
    const third = await runCli(m, ['login', '--host', consoleHost.host, ...common], {
      env: { CONVOX_PASSWORD: CONSOLE_TOKEN }
    })
    expect(third.code).toBe(0)
    const unchanged = await runCli(m, ['logout', ...common])
    expect(unchanged.stderr).toContain('The last login changed nothing')
    expect(snapshot(dir)).not.toEqual(afterFirst)

    expect((await runCli(m, ['logout', ...common])).code).toBe(0)
    expect(snapshot(dir)).toEqual(afterFirst)
    expect((await runCli(m, ['logout', '--state-file', state])).code).toBe(0)
    expect(fs.existsSync(path.join(m.root, 'settings'))).toBe(false)
    expect(fs.existsSync(state)).toBe(false)
  })

  it('keeps what a later step changed, with a word, and exits 0', async () => {
    const m = machines.fresh()
    const state = path.join(m.work, 'state.json')
    const login = await runCli(m, ['login', '--host', rack.host, '--state-file', state], {
      env: { CONVOX_PASSWORD: RACK_KEY }
    })
    expect(login.code).toBe(0)
    fs.writeFileSync(path.join(convoxDir(m), 'host'), 'later.example.com')
    const logout = await runCli(m, ['logout', '--state-file', state])
    expect(logout.code).toBe(0)
    expect(logout.stderr).toContain('was changed after this step; left as it is')
    expect(fs.readFileSync(path.join(convoxDir(m), 'host'), 'utf8')).toBe('later.example.com')
  })
})

describe('usage errors exit 2 with the usage line, and change nothing', () => {
  const cases: Array<[string, string[], Record<string, string>, string]> = [
    ['a key as a flag value', ['login', '--password', RACK_KEY], {}, 'process list and in the shell history'],
    [
      'a key as --password=',
      ['login', `--password=${RACK_KEY}`],
      {},
      'process list and in the shell history'
    ],
    ['an unknown flag', ['login', '--hots', 'x'], { CONVOX_PASSWORD: RACK_KEY }, 'Unknown flag "--hots"'],
    ['a missing value', ['login', '--host'], { CONVOX_PASSWORD: RACK_KEY }, '--host needs a value'],
    ['no key', ['login'], {}, 'No key: set CONVOX_PASSWORD'],
    [
      'two key sources',
      ['login', '--password-stdin', '--password-file', 'k'],
      {},
      'Both --password-stdin and --password-file'
    ],
    [
      'a bad host',
      ['login', '--host', 'http://rack.example.com'],
      { CONVOX_PASSWORD: RACK_KEY },
      '--host uses http://'
    ],
    [
      'a bad duration',
      ['login', '--retry-for', 'soon'],
      { CONVOX_PASSWORD: RACK_KEY },
      '--retry-for "soon" is not a duration'
    ],
    ['an unknown command', ['signin'], {}, 'Unknown command "signin"'],
    [
      'a keyroll with nowhere for the key',
      ['keyroll'],
      { CONVOX_PASSWORD: RACK_KEY },
      'needs somewhere to go'
    ],
    [
      'a GitLab keyroll with only the job token',
      ['keyroll', '--gitlab-variable', 'CONVOX_PASSWORD'],
      {
        CONVOX_PASSWORD: RACK_KEY,
        CI_JOB_TOKEN: 'job-token-123',
        CI_PROJECT_ID: '1',
        CI_API_V4_URL: 'https://127.0.0.1/api/v4'
      },
      'CI_JOB_TOKEN cannot write CI/CD variables'
    ],
    ['install-cli without a version', ['install-cli'], {}, 'install-cli needs --version']
  ]
  it.each(cases)('%s', async (_name, args, env, sentence) => {
    const m = machines.fresh()
    const result = await runCli(m, args, { env })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('false\n')
    expect(result.stderr).toContain(sentence)
    expect(result.stderr).toMatch(/^usage: convox-login /m)
    expect(fs.readdirSync(m.home)).toEqual([])
    expectNoLeaks(result, KEY_LINES.none)
  })

  it('prints --help and --version on stdout with exit 0', async () => {
    const m = machines.fresh()
    const help = await runCli(m, ['keyroll', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--gitlab-variable NAME')
    const version = await runCli(m, ['--version'])
    expect(version.code).toBe(0)
    const pkg = JSON.parse(
      fs.readFileSync(path.join(import.meta.dirname, '../../..', 'package.json'), 'utf8')
    )
    expect(version.stdout).toBe(`convox-login ${pkg.version}\n`)
  })

  it('runs as an executable on its own (#!/usr/bin/env node)', () => {
    const cli = path.join(import.meta.dirname, '../../..', 'dist', 'convox-login.cjs')
    expect(mode(cli)).toBe(0o755)
    expect(execFileSync(cli, ['--version'], { encoding: 'utf8' })).toMatch(/^convox-login \d/)
  })
})
