import { describe, expect, it } from '@jest/globals'
import { FLAGS, parseArgs, usageLine, UsageError } from '../../src/cli/args.ts'

/** The command line, parsed without running anything: forms of flags, and what is refused. */

const refused = (argv: string[]) => {
  try {
    parseArgs(argv)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as UsageError).message
  }
  throw new Error(`accepted: ${argv.join(' ')}`)
}

describe('parseArgs', () => {
  it('takes --flag value and --flag=value, and switches with or without a boolean', () => {
    expect(
      parseArgs([
        'login',
        '--host',
        'rack.example.com',
        '--rack=acme/prod',
        '--insecure',
        '--no-validate=false'
      ])
    ).toEqual({
      command: 'login',
      flags: { host: 'rack.example.com', rack: 'acme/prod', insecure: true, 'no-validate': false }
    })
  })

  it('keeps a value that starts with a dash when it is given inline or is a lone "-"', () => {
    expect(parseArgs(['login', '--config-dir=-odd', '--password-file', '-'])).toEqual({
      command: 'login',
      flags: { 'config-dir': '-odd', 'password-file': '-' }
    })
  })

  it('refuses a key given as a flag, in either form, without repeating it', () => {
    for (const argv of [
      ['login', '--password', 'SecretKey123'],
      ['keyroll', '--password=SecretKey123']
    ]) {
      const message = refused(argv)
      expect(message).toContain('process list')
      expect(message).not.toContain('SecretKey123')
    }
  })

  it('refuses unknown flags, a flag of another command, a missing value, a repeat, a positional', () => {
    expect(refused(['login', '--verbose'])).toContain('Unknown flag "--verbose"')
    expect(refused(['logout', '--host', 'x'])).toContain('Unknown flag "--host" for convox-login logout')
    expect(refused(['login', '--host', '--rack', 'r'])).toContain('--host needs a value')
    expect(refused(['login', '--host', 'a', '--host', 'b'])).toContain('--host is given twice')
    expect(refused(['login', 'rack.example.com'])).toContain('takes flags only')
    expect(refused(['login', '--insecure=maybe'])).toContain('"maybe" is not a boolean')
    expect(refused(['--host', 'x', 'login'])).toContain('comes before a command')
  })

  it('help and version', () => {
    expect(parseArgs([])).toEqual({ command: 'help', topic: undefined })
    expect(parseArgs(['help', 'keyroll'])).toEqual({ command: 'help', topic: 'keyroll' })
    expect(parseArgs(['install-cli', '--help'])).toEqual({ command: 'help', topic: 'install-cli' })
    expect(parseArgs(['--version'])).toEqual({ command: 'version' })
  })

  it('has a usage line per command naming every flag', () => {
    for (const [command, flags] of Object.entries(FLAGS)) {
      const line = usageLine(command as keyof typeof FLAGS)
      for (const flag of flags) expect(line).toContain(`--${flag.name}`)
    }
  })
})
