import type { Command, Flags } from './args.ts'
import { helpText, parseArgs, usageLine, UsageError } from './args.ts'
import { failLine } from './formats.ts'
import { install } from './install.ts'
import { login } from './login.ts'
import { logout } from './logout.ts'
import type { Context } from './options.ts'
import { installSettings, loginSettings, logoutSettings } from './options.ts'
import { status } from './status-command.ts'
import { keyrollSettings } from './stores.ts'
import { stderr, stdout } from './streams.ts'
import { cliLog } from './log.ts'
import { evalShell } from './terminal.ts'

/**
 * convox-login, the command: the same login, keyroll, CLI install and cleanup as the action, for
 * any CI or a terminal, over the same core (core/flow.ts). Messages go to stderr; stdout carries
 * only what --format asks for. Exit status: 0 done, 1 the work failed, 2 the command line is wrong.
 */

declare const CONVOX_LOGIN_VERSION: string

/** Runs one command line to its exit status. */
export async function runCommand(argv: readonly string[], ctx: Context): Promise<number> {
  let command: Command | undefined
  let flags: Flags = {}
  let code: number
  try {
    const invocation = parseArgs(argv)
    if (invocation.command === 'help') {
      stdout(`${helpText(invocation.topic)}\n`)
      return 0
    }
    if (invocation.command === 'version') {
      stdout(`convox-login ${CONVOX_LOGIN_VERSION}\n`)
      return 0
    }
    command = invocation.command
    flags = invocation.flags
    code = await run(command, flags, ctx)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    command ??= error.command
    stderr(`convox-login: ${error.message}\n${usageLine(command)}\n`)
    code = 2
  }
  // eval "$(convox-login login)" succeeds on empty text: a statement that fails stops the script.
  // status prints a report, not code for a shell.
  const shell = command === 'status' ? undefined : evalShell(flags.format, ctx.ci, ctx.stdoutIsTerminal)
  if (code !== 0 && shell) stdout(failLine(shell))
  return code
}

function run(command: Command, flags: Flags, ctx: Context): Promise<number> | number {
  switch (command) {
    case 'login':
      return login(loginSettings(flags, ctx), undefined, ctx)
    case 'keyroll': {
      const settings = keyrollSettings(flags, ctx)
      return login(settings, settings, ctx)
    }
    case 'logout':
      return logout(logoutSettings(flags, ctx), cliLog(stderr), stdout)
    case 'install-cli':
      return install(installSettings(flags, ctx), ctx)
    case 'status':
      return status(flags, ctx, stdout, stderr)
  }
}
