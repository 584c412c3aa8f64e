import type { Handover } from '../core/flow.ts'

/**
 * The text that hands a login (or an installed CLI) to later steps, in each shell's or CI's own
 * syntax. Pure: the caller decides where it goes (stdout, BASH_ENV, a dotenv file). Every value is
 * quoted so that it stays one value whatever it holds, under eval too.
 */

export type ShellSyntax = 'sh' | 'fish' | 'pwsh' | 'dotenv'

/** The variables that hold the key: Azure gets them as secret variables. */
export const SECRET_VARIABLES = ['CONVOX_PASSWORD', 'RACK_URL'] as const

/** POSIX single quotes: nothing is special inside them but the quote itself, closed, escaped and reopened. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** fish's single quotes, where only \\ and ' are special. */
export function fishQuote(value: string): string {
  return `'${value.replace(/[\\']/g, c => `\\${c}`)}'`
}

/** PowerShell's verbatim strings, where a quote (any of its four forms) is doubled. */
export function pwshQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, c => c + c)}'`
}

/**
 * One line per variable as a dotenv file (GitLab's dotenv report) takes it: no quotes, no line
 * breaks; values cannot hold one anyway (options.ts refuses control characters in a key).
 */
function dotenvLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`a dotenv value cannot hold a line break (${name})`)
  return `${name}=${value}`
}

export function exportLines(syntax: ShellSyntax, handover: Pick<Handover, 'env' | 'clear'>): string {
  const lines: string[] = []
  for (const name of handover.clear) {
    if (syntax === 'sh') lines.push(`unset ${name}`)
    else if (syntax === 'fish') lines.push(`set -e ${name}`)
    else if (syntax === 'pwsh') lines.push(`Remove-Item -ErrorAction SilentlyContinue Env:${name}`)
    else lines.push(dotenvLine(name, ''))
  }
  for (const [name, value] of Object.entries(handover.env)) {
    if (syntax === 'sh') lines.push(`export ${name}=${shQuote(value)}`)
    else if (syntax === 'fish') lines.push(`set -gx ${name} ${fishQuote(value)}`)
    else if (syntax === 'pwsh') lines.push(`$env:${name} = ${pwshQuote(value)}`)
    else lines.push(dotenvLine(name, value))
  }
  return lines.map(line => `${line}\n`).join('')
}

/** The lines that unset what a login exported: `eval "$(convox-login logout)"` leaves the shell as before. */
export function unsetLines(syntax: EvalShell, names: readonly string[]): string {
  if (names.length === 0) return ''
  if (syntax === 'sh') return `unset ${names.join(' ')}\n`
  const line = syntax === 'fish' ? 'set -e ' : 'Remove-Item -ErrorAction SilentlyContinue Env:'
  return names.map(name => `${line}${name}\n`).join('')
}

/** A directory put in front of PATH. dotenv has no expansion, so it gets the whole PATH given. */
export function pathLines(syntax: ShellSyntax, dir: string, currentPath: string, delimiter: string): string {
  switch (syntax) {
    case 'sh':
      return `export PATH=${shQuote(dir)}"\${PATH:+:\$PATH}"\n`
    case 'fish':
      return `set -gx PATH ${fishQuote(dir)} $PATH\n`
    case 'pwsh':
      return `$env:PATH = ${pwshQuote(dir)} + [IO.Path]::PathSeparator + $env:PATH\n`
    case 'dotenv':
      return `${dotenvLine('PATH', currentPath ? `${dir}${delimiter}${currentPath}` : dir)}\n`
  }
}

/**
 * Azure Pipelines' logging commands. The data after `]` is escaped as the agent unescapes it;
 * properties never hold our values, only names.
 */
function azureEscape(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

export function azureLines(handover: Pick<Handover, 'env' | 'clear'>): string {
  const lines: string[] = []
  for (const name of handover.clear) lines.push(`##vso[task.setvariable variable=${name}]`)
  for (const [name, value] of Object.entries(handover.env)) {
    const secret = (SECRET_VARIABLES as readonly string[]).includes(name) ? ';issecret=true' : ''
    lines.push(`##vso[task.setvariable variable=${name}${secret}]${azureEscape(value)}`)
  }
  return lines.map(line => `${line}\n`).join('')
}

export function azurePathLine(dir: string): string {
  return `##vso[task.prependpath]${azureEscape(dir)}\n`
}

/** Outputs that hold a key: the new key of a keyroll, a minted token's RACK_URL. */
const SECRET_OUTPUTS = ['password', 'rack-url']

/** The action's outputs as one JSON object, never a key: a JSON consumer need not be trusted with it. */
export function jsonLine(outputs: Record<string, string>): string {
  return `${JSON.stringify(Object.fromEntries(Object.entries(outputs).filter(([name]) => !SECRET_OUTPUTS.includes(name))))}\n`
}

export type EvalShell = 'sh' | 'fish' | 'pwsh'

/** What stdout ends with when the command failed: a statement that fails in the shell that evals it. */
export function failLine(shell: EvalShell): string {
  return shell === 'pwsh' ? "throw 'convox-login failed: see its message above'\n" : 'false\n'
}
