import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { InputError, unexpectedError } from '../core/errors.ts'
import { secretForms } from '../core/secrets.ts'
import { detectCi } from './ci.ts'
import { runCommand } from './run.ts'
import { stderr } from './streams.ts'

/**
 * The process entry of convox-login (package.json's bin): this process's arguments, environment,
 * directories and standard input in, an exit status out once stdout has drained. The commands
 * are in run.ts.
 */

const secrets: string[] = []

void runCommand(process.argv.slice(2), {
  secrets,
  env: process.env,
  home: homedir(),
  cwd: process.cwd(),
  ci: detectCi(process.env),
  stdoutIsTerminal: process.stdout.isTTY === true,
  readStdin: () => {
    try {
      return readFileSync(0, 'utf8')
    } catch (error) {
      throw new InputError(
        `--password-stdin: standard input cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): pipe the key in.`
      )
    }
  }
}).then(exit, (error: unknown) => {
  stderr(
    `convox-login: ${unexpectedError(
      error,
      secrets.flatMap(secret => secretForms(secret))
    )}\n`
  )
  exit(1)
})

/** Exits once stdout has drained: on a pipe it is asynchronous, and the handover must arrive whole. */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code))
}
