import type { Log } from '../core/log.ts'
import { redact, secretForms } from '../core/secrets.ts'

/**
 * The Convox logic's Log for the command: every line on stderr (stdout is the handover's), with
 * every form of every secret replaced by *** before it is written, since most CIs mask nothing
 * they were not told about in their settings. `mask` hands each new form to the CI's own masking
 * (GitHub's add-mask, Buildkite's redactor) as soon as it exists.
 */
export interface CliLog extends Log {
  /** Every secret form seen so far, for redacting an error message. */
  readonly forms: readonly string[]
}

export function cliLog(
  write: (text: string) => void,
  mask: (forms: string[]) => void = () => undefined
): CliLog {
  const forms: string[] = []
  const line = (text: string) => write(`${redact(text, forms)}\n`)
  return {
    forms,
    info: message => line(message),
    warning: message => line(`warning: ${message}`),
    debug: () => undefined,
    secret: value => {
      const fresh = secretForms(value).filter(form => !forms.includes(form))
      if (fresh.length === 0) return
      // Longest first, so that a form containing another is replaced whole.
      forms.push(...fresh)
      forms.sort((a, b) => b.length - a.length)
      mask(fresh)
    },
    group: async (name, fn) => {
      line(`-- ${name}`)
      return fn()
    }
  }
}
