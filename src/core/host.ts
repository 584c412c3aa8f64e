import { InputError } from './errors.ts'
import type { Naming } from './naming.ts'

/** The public Console, the host's default and, without validation, taken as a Console. */
export const PUBLIC_CONSOLE_HOST = 'console.convox.com'

/**
 * Turns the `host` input into the form the CLIs use as the `auth` key: no scheme, lower-case,
 * port kept (a rack can listen on `127.0.0.1:5443`) except the default 443, which the CLI never
 * writes.
 */
export function normaliseHost(raw: string, naming: Pick<Naming, 'subject' | 'keySource'>): string {
  const subject = naming.subject('host')
  const input = raw.trim()
  if (input === '') {
    throw new InputError(`${subject} is empty: give a Console host (console.convox.com) or a Rack host.`)
  }
  if (/\s/.test(input)) {
    throw new InputError(`${subject} "${input}" contains white space: give only the host name.`)
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(input)?.[1]?.toLowerCase()
  if (scheme && scheme !== 'https') {
    throw new InputError(
      `${subject} uses ${scheme}://, but Convox APIs are served over HTTPS only: drop the scheme or use https://.`
    )
  }
  let rest = scheme ? input.slice(scheme.length + 3) : input
  if (rest.endsWith('/')) rest = rest.slice(0, -1)
  if (rest.includes('@')) {
    // Do not echo the input: user-info may hold a password.
    throw new InputError(
      `${subject} contains "@" (user-info): give the password in ${naming.keySource} only.`
    )
  }
  if (/[/?#]/.test(rest)) {
    throw new InputError(
      `${subject} "${input}" has a path, query or fragment: give only the host (and port), such as rack.example.com.`
    )
  }
  // Letter classes rather than the i flag: V8 builds ICU's case tables for the first i regex (0.3 ms).
  const match = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/.exec(rest)
  const port = match?.[2] === undefined ? undefined : Number(match[2])
  if (
    !match ||
    rest.startsWith('.') ||
    rest.startsWith('-') ||
    (port !== undefined && (port < 1 || port > 65535))
  ) {
    throw new InputError(
      `${subject} "${input}" is not a valid host name: use a form such as rack.example.com or 10.0.0.1:5443.`
    )
  }
  const name = match[1]!.toLowerCase()
  return port === undefined || port === 443 ? name : `${name}:${port}`
}
