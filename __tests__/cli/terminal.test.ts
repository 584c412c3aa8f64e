import { describe, expect, it } from '@jest/globals'
import { helpText, parseArgs, UsageError } from '../../src/cli/args.ts'
import type { Ci } from '../../src/cli/ci.ts'
import { unsetLines } from '../../src/cli/formats.ts'
import { evalShell, onTerminal } from '../../src/cli/terminal.ts'

/** The pure parts of "a terminal is not a log": where a handover goes, the eval statement, unset lines, --help. */

const ci = (name: Ci['name']) => ({ name }) as Ci

describe('onTerminal', () => {
  it.each([
    ['sh', false, true, 'terminal'],
    ['sh', true, true, 'sh'],
    ['sh', false, false, 'sh'],
    ['json', false, true, 'json'],
    ['github', false, true, 'github'],
    ['bash-env', false, true, 'bash-env']
  ] as const)('%s, format given %s, terminal %s: %s', (target, given, tty, expected) => {
    expect(onTerminal(target, given, tty)).toBe(expected)
  })
})

describe('evalShell', () => {
  it.each([
    [undefined, 'other', false, 'sh'],
    [undefined, 'other', true, undefined],
    ['fish', 'other', true, 'fish'],
    ['pwsh', 'gitlab', false, 'pwsh'],
    ['json', 'other', false, undefined],
    [undefined, 'azure', false, undefined],
    // Not a format: decided as auto, not from the bad value.
    ['zsh', 'other', false, 'sh'],
    ['zsh', 'azure', false, undefined],
    ['fishy', 'buildkite', false, 'sh']
  ] as const)('--format %s on %s (terminal %s): %s', (format, name, tty, expected) => {
    expect(evalShell(format, ci(name), tty)).toBe(expected)
  })
})

describe('unsetLines', () => {
  const names = ['CONVOX_HOST', 'RACK_URL']
  it('undoes in each shell what the export lines set', () => {
    expect(unsetLines('sh', names)).toBe('unset CONVOX_HOST RACK_URL\n')
    expect(unsetLines('fish', names)).toBe('set -e CONVOX_HOST\nset -e RACK_URL\n')
    expect(unsetLines('pwsh', names)).toBe(
      'Remove-Item -ErrorAction SilentlyContinue Env:CONVOX_HOST\nRemove-Item -ErrorAction SilentlyContinue Env:RACK_URL\n'
    )
  })
  it('prints nothing when nothing was exported (a bare `unset` would be an error in some shells)', () => {
    expect(unsetLines('sh', [])).toBe('')
  })
})

describe('--help and flags before a command', () => {
  it('lists the exit codes, for the command list and each command', () => {
    expect(helpText()).toMatch(/Exit status: 0 done, 1 the work failed .*, 2 the command line is wrong\./)
    expect(helpText('status')).toMatch(
      /Exit status: 0 logged in .*, 1 not logged in, 2 the command line is wrong\./
    )
    expect(helpText('logout')).toContain('Exit status: 0')
  })

  it('suggests a command only for a flag that exists, never -v', () => {
    const message = (argv: string[]) => {
      try {
        parseArgs(argv)
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError)
        return (error as Error).message
      }
      throw new Error('accepted')
    }
    expect(message(['-v'])).toBe(
      'Unknown flag "-v": give a command first (login, logout, keyroll, install-cli, status), or --help or --version.'
    )
    expect(message(['--verbose'])).not.toContain('convox-login login --verbose')
    expect(message(['--host=x'])).toContain('such as convox-login login --host=x')
    for (const text of [
      helpText(),
      ...(['login', 'logout', 'keyroll', 'install-cli', 'status'] as const).map(helpText)
    ]) {
      expect(text).not.toMatch(/(^|\s)-v\b/)
    }
  })
})
