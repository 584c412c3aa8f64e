import { InputError } from './errors.ts'

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const

/**
 * Parses `90s`, `5m`, `1h`, `1h30m` or plain seconds into milliseconds. `subject` names the option
 * in the front end's words (naming.ts).
 */
export function parseDuration(raw: string, subject: string): number {
  const text = raw.trim().toLowerCase()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const parts = [...text.matchAll(/(\d+)([smh])/g)]
  if (text === '' || parts.map(p => p[0]).join('') !== text) {
    throw new InputError(
      `${subject} "${raw}" is not a duration: use seconds (90), or a number with s, m or h (90s, 5m, 1h).`
    )
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS], 0)
}
