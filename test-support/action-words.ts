import fs from 'node:fs'
import path from 'node:path'

/**
 * The action's vocabulary, for checking that the convox-login command never speaks it: its
 * inputs, read from action.yml, and the forms in which only the action names them.
 */

/** The action's inputs, by their names in action.yml. */
export function actionInputs(): string[] {
  const yml = fs.readFileSync(path.resolve(import.meta.dirname, '..', 'action.yml'), 'utf8')
  const section = yml.slice(yml.indexOf('\ninputs:'), yml.indexOf('\noutputs:'))
  return [...section.matchAll(/^ {2}([a-z][a-z0-9-]*):\s*$/gm)].map(m => m[1]!)
}

export const INPUTS = actionInputs()
export const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Every place the text speaks the action's language. A hyphenated input is its own word and may
 * only appear as a flag (`--config-dir`) or inside a longer word (`ca-cert-file`); a one-word
 * input is also an English word (the rack, a host), so only its action-shaped uses count: given a
 * YAML boolean (`keyroll: true`), called an input, said to be true, false or empty, or set,
 * removed, raised, checked or pinned bare.
 */
export function actionWords(text: string): string[] {
  const found: string[] = []
  for (const [pattern, what] of [
    [/\$\{\{/g, '${{'],
    [/\binputs?\b/gi, 'input'],
    [/\bwith:/g, 'with:']
  ] as const) {
    for (const match of text.matchAll(pattern)) found.push(`${what} in "${context(text, match.index)}"`)
  }
  for (const name of INPUTS) {
    const n = escape(name)
    const patterns = name.includes('-')
      ? [new RegExp(`(?<![A-Za-z0-9_-])(?<!--)${n}(?![A-Za-z0-9_-])`, 'g')]
      : [
          new RegExp(`(?<![A-Za-z0-9_-])${n}: (true|false)\\b`, 'g'),
          new RegExp(`(?<![A-Za-z0-9_-])${n} (is|are) (true|false|empty)\\b`, 'g'),
          new RegExp(`\\b(set|remove|raise|check|pin) ${n}\\b`, 'g'),
          new RegExp(`(?<![A-Za-z0-9_-])${n} inputs?\\b`, 'g')
        ]
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) found.push(`${name} in "${context(text, match.index)}"`)
    }
  }
  return found
}

const context = (text: string, at: number) => text.slice(Math.max(0, at - 40), at + 60).replace(/\n/g, '\\n')
