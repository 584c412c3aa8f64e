import { redact } from '../secrets.ts'

/**
 * Text a server sent (a rack name, a status, an error body, a header value), made fit to quote in
 * a message or an output. A rack or a proxy is not ours: what it says is data, never a workflow
 * command and never a credential, in whatever order the harm would come:
 * - secrets first, in every form given, and any Basic or Bearer credential: a form cut in two by
 *   the length limit could no longer be found;
 * - then control characters (line breaks among them), so no quoted text starts a line of its own,
 *   where `::warning::` or `::stop-commands::` would be a command to the runner;
 * - then the length.
 * Leading colons go too, for text that opens a line.
 */
export function serverText(text: string, secrets: readonly string[], maxLength = 200): string {
  const clean = redact(text, secrets)
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}/gi, '$1 ***')
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .replace(/^[\s:]+/, '') // the runner reads a command after any leading white space
    .trimEnd()
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 1).trimEnd()}…` : clean
}

/** The first line of a server's text, as `serverText`. */
export function serverLine(text: string, secrets: readonly string[], maxLength = 200): string {
  return serverText(text.trim().split(/\r\n|\r|\n/)[0] ?? '', secrets, maxLength)
}
