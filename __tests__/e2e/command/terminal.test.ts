import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { shQuote } from '../../../src/cli/formats.ts'
import { secretForms } from '../../../src/core/secrets.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { Machine } from '../../../test-support/run-cli.ts'
import { CLI, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'
import { testTls } from '../../../test-support/tls.ts'

/**
 * A terminal is not a log: dist/convox-login.cjs on a real pseudo-terminal (util-linux `script`),
 * and `eval "$(convox-login login)"` then `eval "$(convox-login logout)"` in a real bash, whose
 * environment and settings directory must end as they began.
 */

const RACK_KEY = 'TerminalRackKey0123456789abcdefXY'

let rack: FakeConvox
const machines = machinePool()

beforeAll(async () => {
  rack = await startFakeConvox({ kind: 'rack', rack: { name: 'production', password: RACK_KEY } })
})

afterAll(async () => {
  await rack.close()
  machines.removeAll()
})

function baseEnv(m: Machine): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: m.home, NODE_EXTRA_CA_CERTS: testTls().caPath }
}

/** Runs the command with stdout and stderr on a pseudo-terminal; returns what the terminal showed. */
async function onTerminal(m: Machine, args: string[], env: Record<string, string>) {
  const command = [process.execPath, CLI, ...args].map(shQuote).join(' ')
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: m.work,
    env: { ...baseEnv(m), ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let screen = ''
  child.stdout.on('data', chunk => (screen += chunk))
  child.stdin.end()
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, screen: screen.replace(/\r\n/g, '\n') }
}

const keyFile = (m: Machine) => {
  const file = path.join(m.work, 'key')
  fs.writeFileSync(file, RACK_KEY, { mode: 0o600 })
  return file
}

describe('login on a terminal', () => {
  it('writes the settings and prints no form of the key, saying how to take the variables', async () => {
    const m = machines.fresh()
    const { code, screen } = await onTerminal(
      m,
      ['login', '--host', rack.host, '--password-file', keyFile(m)],
      {}
    )
    expect(code).toBe(0)
    for (const form of secretForms(RACK_KEY, rack.host)) expect(screen).not.toContain(form)
    expect(screen).not.toMatch(/^export /m)
    expect(screen).toMatch(
      /stdout is a terminal, so CONVOX_HOST, CONVOX_PASSWORD, CONVOX_CONFIG, RACK_URL are not printed .*eval "\$\(convox-login login …\)"/
    )
    expect(JSON.parse(fs.readFileSync(path.join(m.home, '.convox', 'auth'), 'utf8'))).toEqual({
      [rack.host]: RACK_KEY
    })
  })

  it('--format auto is no request to print: the terminal rule holds', async () => {
    const m = machines.fresh()
    const { code, screen } = await onTerminal(
      m,
      ['login', '--host', rack.host, '--password-file', keyFile(m), '--format', 'auto'],
      {}
    )
    expect(code).toBe(0)
    for (const form of secretForms(RACK_KEY, rack.host)) expect(screen).not.toContain(form)
    expect(screen).toContain('stdout is a terminal')
  })

  it('prints the export lines when --format sh asks for them', async () => {
    const m = machines.fresh()
    const { code, screen } = await onTerminal(
      m,
      ['login', '--host', rack.host, '--password-file', keyFile(m), '--format', 'sh'],
      {}
    )
    expect(code).toBe(0)
    expect(screen).toContain(`export CONVOX_PASSWORD=${shQuote(RACK_KEY)}\n`)
    expect(screen).not.toContain('stdout is a terminal')
  })

  it('through a pipe (what eval reads) prints the export lines as before', async () => {
    const m = machines.fresh()
    const result = await runCli(m, ['login', '--host', rack.host, '--password-file', keyFile(m)])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`export CONVOX_PASSWORD=${shQuote(RACK_KEY)}\n`)
    expect(result.stderr).not.toContain('stdout is a terminal')
  })

  it('an unknown --format on a terminal is a usage error with no statement for eval on the screen', async () => {
    const m = machines.fresh()
    const { code, screen } = await onTerminal(m, ['login', '--format', 'zsh'], { CONVOX_PASSWORD: RACK_KEY })
    expect(code).toBe(2)
    expect(screen).toContain('--format "zsh" is not a format')
    expect(screen).not.toMatch(/^false$/m)
  })
})

/** Runs `script` in a real bash with the given files; prints each environment dump it asks for. */
async function bash(m: Machine, script: string, env: Record<string, string> = {}) {
  const child = spawn('bash', ['--norc', '--noprofile', '-c', script], {
    cwd: m.work,
    env: { ...baseEnv(m), CLI, ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stderr += chunk))
  child.stdin.end()
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, stdout, stderr }
}

/** The exported environment, less what bash itself changes between two commands. */
const DUMP = `env -0 | tr '\\0' '\\n' | grep -v '^_=' | sort`

describe('eval "$(convox-login logout)" undoes eval "$(convox-login login)"', () => {
  it('in bash: the environment, the settings (modes included) and the state directory end as they began', async () => {
    const m = machines.fresh()
    const dir = path.join(m.home, '.convox')
    fs.mkdirSync(dir, { mode: 0o755 })
    fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o644 })
    fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "OtherKey"\n}', { mode: 0o644 })
    fs.chmodSync(path.join(dir, 'host'), 0o644)
    fs.chmodSync(path.join(dir, 'auth'), 0o644)
    fs.chmodSync(dir, 0o755)
    const settingsBefore = snapshot(dir)
    const key = keyFile(m)
    const result = await bash(
      m,
      [
        `${DUMP} > before.env`,
        `eval "$(node "$CLI" login --host ${shQuote(rack.host)} --password-file ${shQuote(key)})"`,
        'test "$CONVOX_PASSWORD" = ' + shQuote(RACK_KEY) + ' || exit 3',
        'node "$CLI" logout > logout.sh',
        'eval "$(cat logout.sh)"',
        `${DUMP} > after.env`,
        'diff before.env after.env'
      ].join('\n')
    )
    expect(result.stderr).not.toMatch(/warning/)
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('')
    expect(fs.readFileSync(path.join(m.work, 'logout.sh'), 'utf8')).toBe(
      'unset CONVOX_HOST CONVOX_PASSWORD CONVOX_CONFIG RACK_URL\n'
    )
    expect(snapshot(dir)).toEqual(settingsBefore)
    expect(fs.existsSync(path.join(m.home, '.local'))).toBe(false)
  })

  // fish where it is installed (Debian's package): the same round trip in its own syntax.
  const fish = spawnSync('fish', ['--version']).status === 0 ? it : it.skip
  fish('in fish: login | source, then logout | source, leaves the environment as it was', async () => {
    const m = machines.fresh()
    const key = keyFile(m)
    const child = spawn(
      'fish',
      [
        '--no-config',
        '-c',
        [
          `${DUMP} > before.env`,
          `node $CLI login --host ${shQuote(rack.host)} --password-file ${shQuote(key)} --format fish | source`,
          'test "$CONVOX_PASSWORD" = ' + shQuote(RACK_KEY) + '; or exit 3',
          'node $CLI logout --format fish | source',
          `${DUMP} > after.env`,
          'diff before.env after.env'
        ].join('\n')
      ],
      { cwd: m.work, env: { ...baseEnv(m), CLI }, stdio: ['pipe', 'pipe', 'pipe'] }
    )
    let output = ''
    child.stdout.on('data', chunk => (output += chunk))
    child.stderr.on('data', chunk => (output += chunk))
    child.stdin.end()
    const code = await new Promise<number | null>(resolve => child.on('close', resolve))
    expect(output).not.toMatch(/^[<>] /m)
    expect(code).toBe(0)
    expect(fs.existsSync(path.join(m.home, '.convox'))).toBe(false)
  })

  it('the record holds the names it exported, never a value', async () => {
    const m = machines.fresh()
    const state = path.join(m.work, 'state.json')
    const result = await runCli(m, ['login', '--host', rack.host, '--state-file', state], {
      env: { CONVOX_PASSWORD: RACK_KEY }
    })
    expect(result.code).toBe(0)
    const record = JSON.parse(fs.readFileSync(state, 'utf8')) as { logins: Array<{ exported: string[] }> }
    expect(record.logins.map(l => l.exported)).toEqual([
      ['CONVOX_HOST', 'CONVOX_PASSWORD', 'CONVOX_CONFIG', 'RACK_URL']
    ])
  })

  it('a record edited to name another variable is refused, and nothing is printed for eval', async () => {
    const m = machines.fresh()
    const state = path.join(m.work, 'state.json')
    const login = await runCli(m, ['login', '--host', rack.host, '--state-file', state], {
      env: { CONVOX_PASSWORD: RACK_KEY }
    })
    expect(login.code).toBe(0)
    const record = JSON.parse(fs.readFileSync(state, 'utf8')) as { logins: Array<{ exported: string[] }> }
    record.logins[0]!.exported.push('PATH; touch pwned')
    fs.writeFileSync(state, JSON.stringify(record))
    const logout = await runCli(m, ['logout', '--state-file', state])
    expect(logout.stdout).toBe('')
    expect(logout.stderr).toMatch(/is not a convox-login record/)
  })

  it('--format fish and pwsh print their own unset lines', async () => {
    for (const [format, expected] of [
      ['fish', 'set -e CONVOX_HOST\nset -e CONVOX_PASSWORD\nset -e CONVOX_CONFIG\nset -e RACK_URL\n'],
      [
        'pwsh',
        ['CONVOX_HOST', 'CONVOX_PASSWORD', 'CONVOX_CONFIG', 'RACK_URL']
          .map(n => `Remove-Item -ErrorAction SilentlyContinue Env:${n}\n`)
          .join('')
      ]
    ] as const) {
      const m = machines.fresh()
      const login = await runCli(m, ['login', '--host', rack.host, '--format', format], {
        env: { CONVOX_PASSWORD: RACK_KEY }
      })
      expect(login.code).toBe(0)
      const logout = await runCli(m, ['logout', '--format', format])
      expect(logout.stdout).toBe(expected)
    }
  })

  it('logout on a terminal prints no unset lines and says what to remove', async () => {
    const m = machines.fresh()
    const login = await runCli(m, ['login', '--host', rack.host], { env: { CONVOX_PASSWORD: RACK_KEY } })
    expect(login.code).toBe(0)
    const { code, screen } = await onTerminal(m, ['logout'], {})
    expect(code).toBe(0)
    expect(screen).not.toMatch(/^unset /m)
    expect(screen).toContain('remove CONVOX_HOST, CONVOX_PASSWORD, CONVOX_CONFIG, RACK_URL from the shell')
  })
})
