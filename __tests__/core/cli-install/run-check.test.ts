import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ProgramRun, ProgramRunner } from '../../../src/core/cli-install/run-check.ts'
import { cliReports, firstLine } from '../../../src/core/cli-install/run-check.ts'
import { fakeCli, otherArch } from '../../../test-support/fake-cli.ts'

/**
 * The version run's rules, with a program runner that records what it was asked and answers as
 * told (the real runner is exercised end to end in install.test.ts and e2e/action/cli-install.test.ts).
 */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-run-check-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const ownBinary = path.join(root, 'convox')
fs.writeFileSync(ownBinary, fakeCli({ arch: 'x64' }))
const foreignBinary = path.join(root, 'convox-arm64')
fs.writeFileSync(foreignBinary, fakeCli({ arch: 'arm64' }))

interface Call {
  file: string
  args: readonly string[]
  env: Record<string, string>
  timeoutMs: number
  /** What HOME and CONVOX_CONFIG held while the program ran. */
  seen: Record<string, string[]>
}

function runner(answer: Partial<ProgramRun> | NodeJS.ErrnoException): {
  programs: ProgramRunner
  calls: Call[]
} {
  const calls: Call[] = []
  return {
    calls,
    programs: {
      async run(file, args, { env, timeoutMs }) {
        const seen = Object.fromEntries(
          ['HOME', 'CONVOX_CONFIG'].map(name => [name, fs.readdirSync(env[name]!)])
        )
        calls.push({ file, args, env, timeoutMs, seen })
        if (answer instanceof Error) throw answer
        return { exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, ...answer }
      }
    }
  }
}

const startError = (code: string | undefined, message = `spawn ${code}`) =>
  Object.assign(new Error(message), { code }) as NodeJS.ErrnoException

const check = (binary: string, programs: ProgramRunner, environment: Record<string, string> = {}) =>
  cliReports(binary, { programs, tempDir: root, environment, arch: 'x64', timeoutMs: 20_000 })

describe('cliReports', () => {
  it('runs `version` with empty settings and home directories, and only what a program needs to start', async () => {
    const { programs, calls } = runner({ stdout: 'client: 3.24.9\nserver: none\n' })
    const environment = {
      PATH: '/usr/bin:/bin',
      TMPDIR: '/tmp/runner',
      HOME: '/home/runner',
      XDG_CONFIG_HOME: '/home/runner/.config',
      CONVOX_HOST: 'rack.example.com',
      CONVOX_PASSWORD: 'RunCheckKeyQwErTy123456',
      CONVOX_RACK: 'org/production',
      RACK_URL: 'https://convox:RunCheckKeyQwErTy123456@rack.example.com',
      INPUT_PASSWORD: 'RunCheckKeyQwErTy123456'
    }
    expect(await check(ownBinary, programs, environment)).toBe('client: 3.24.9')
    const [call] = calls
    expect(call!.file).toBe(ownBinary)
    expect(call!.args).toEqual(['version'])
    expect(call!.timeoutMs).toBe(20_000)
    const { HOME, CONVOX_CONFIG } = call!.env
    expect(call!.env).toEqual({
      PATH: '/usr/bin:/bin',
      TMPDIR: '/tmp/runner',
      HOME,
      USERPROFILE: HOME,
      CONVOX_CONFIG
    })
    expect(call!.seen).toEqual({ HOME: [], CONVOX_CONFIG: [] })
    expect(HOME!.startsWith(root) && CONVOX_CONFIG!.startsWith(root)).toBe(true)
    expect(HOME).not.toBe(CONVOX_CONFIG)
    expect(fs.readdirSync(root).sort()).toEqual(['convox', 'convox-arm64'])
  })

  it.each([
    [
      'a v2 CLI that found no rack',
      { exitCode: 1, stdout: 'client: 20240101000000\nserver: none\n' },
      'client: 20240101000000'
    ],
    ['a CLI that prints nothing', { exitCode: 0 }, '']
  ])('accepts %s', async (_name, answer, reported) => {
    expect(await check(ownBinary, runner(answer).programs)).toBe(reported)
  })

  it.each([
    [
      'ENOEXEC',
      ownBinary,
      startError('ENOEXEC'),
      'the system cannot execute it (ENOEXEC, Exec format error)'
    ],
    [
      'ENOEXEC, another processor',
      foreignBinary,
      startError('ENOEXEC'),
      'it is built for arm64, and this runner is x64'
    ],
    [
      "macOS's bad CPU type",
      foreignBinary,
      startError(undefined, 'Unknown system error -86'),
      'it is built for arm64, and this runner is x64'
    ],
    ['an unknown start failure', ownBinary, startError('E2BIG'), 'it could not be started (E2BIG)'],
    ['a file that is gone', path.join(root, 'gone'), startError('ENOENT'), 'the file is gone (ENOENT)'],
    [
      'a signal',
      ownBinary,
      { exitCode: null, signal: 'SIGSEGV', stderr: 'segmentation fault' },
      '`convox version` was killed by SIGSEGV (segmentation fault)'
    ],
    [
      'the shell refusing another processor',
      foreignBinary,
      { exitCode: 126, stderr: 'sh: 1: cannot execute binary file' },
      'it is built for arm64, and this runner is x64'
    ],
    ['a failure without output', ownBinary, { exitCode: 2 }, '`convox version` exited with code 2'],
    [
      'a timeout',
      ownBinary,
      { exitCode: null, signal: 'SIGKILL', timedOut: true },
      '`convox version` did not finish within 20 s'
    ]
  ])('refuses %s in one sentence naming the file', async (_name, binary, answer, cause) => {
    await expect(check(binary, runner(answer).programs)).rejects.toThrow(
      `The Convox CLI at ${binary} does not run on this runner: ${cause}.`
    )
    expect(fs.readdirSync(root).sort()).toEqual(['convox', 'convox-arm64'])
  })

  it('names the other processor the same way on an arm64 runner', async () => {
    const { programs } = runner({ exitCode: 127 })
    await expect(
      cliReports(ownBinary, {
        programs,
        tempDir: root,
        environment: {},
        arch: otherArch('x64'),
        timeoutMs: 1
      })
    ).rejects.toThrow('it is built for x64, and this runner is arm64.')
  })
})

describe('firstLine', () => {
  it.each([
    ['client: 3.24.9\nserver: none\n', 'client: 3.24.9'],
    ['\n\r\n  client: 3.24.9  \r\n', 'client: 3.24.9'],
    ['\x1b[36mclient: \x1b[1;32m3.24.9\x1b[0m\n', 'client: 3.24.9'],
    ['client:\x07 3.24\u202e.9\x00\x7f\x9b', 'client: 3.24.9'],
    ['::error::x\n', '::error::x'],
    ['x'.repeat(300), 'x'.repeat(200)],
    ['\x1b[0m\n\t\n', '']
  ])('case %#', (text, line) => {
    expect(firstLine(text)).toBe(line)
  })
})
