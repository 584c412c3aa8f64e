import type { Ci } from './ci.ts'
import type { EvalShell } from './formats.ts'
import { FORMATS } from './args.ts'

/**
 * A terminal is not a log: text on a terminal stays on the screen, in the scrollback and in a
 * session recording. So when stdout is a terminal and no --format was asked for, login writes the
 * settings and prints no key; it tells the person, on stderr, how to take the variables into the
 * shell. Under `eval "$(convox-login login)"` stdout is a pipe, so that eval works as before.
 */

/** The shell syntaxes a person evals, and the others a format can ask for. */
const PRINTING_FORMATS = 'sh|fish|pwsh|dotenv|json'

/**
 * Where a shell handover goes: `terminal` (nothing on stdout, a note on stderr) when stdout is a
 * terminal and `--format` was not given; else what `--format` decided.
 */
export function onTerminal<T extends string>(
  target: T,
  formatGiven: boolean,
  stdoutIsTerminal: boolean
): T | 'terminal' {
  return target === 'sh' && !formatGiven && stdoutIsTerminal ? 'terminal' : target
}

/** What login says instead of printing the key on a terminal. */
export function loginTerminalNote(command: 'login' | 'keyroll', names: readonly string[]): string {
  return (
    `stdout is a terminal, so ${names.join(', ')} are not printed (the key would stay on the screen): ` +
    `to take them into this shell, run eval "$(convox-login ${command} …)" with the same flags, ` +
    `or pass --format ${PRINTING_FORMATS} to print them.`
  )
}

/** What logout says on a terminal: the variables stay in the shell that took them. */
export function logoutTerminalNote(names: readonly string[]): string {
  return (
    `stdout is a terminal, so the lines that unset what the login exported are not printed: remove ${names.join(', ')} ` +
    `from the shell that took them with unset (fish: set -e), or run eval "$(convox-login logout …)" next time.`
  )
}

/**
 * The shell whose code stdout holds, for the statement that makes an eval fail; undefined where
 * no shell reads stdout (another format, or a terminal). A format that is not one is itself a
 * usage error: the shell is then decided as for `auto`, not from the bad value.
 */
export function evalShell(
  format: string | boolean | undefined,
  ci: Ci,
  stdoutIsTerminal: boolean
): EvalShell | undefined {
  const given = typeof format === 'string' ? format.trim() : ''
  const name = (FORMATS as readonly string[]).includes(given) ? given : 'auto'
  if (name === 'sh' || name === 'fish' || name === 'pwsh') return name
  if (name !== 'auto' || stdoutIsTerminal) return undefined
  return ['other', 'gitlab', 'buildkite'].includes(ci.name) ? 'sh' : undefined
}
