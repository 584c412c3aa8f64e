/**
 * JSON from a server or a file is data we did not write: it may not parse, and when it does it
 * may not have the shape we hoped for. Callers check the shape and say what they expected.
 */

/** The parsed value, or undefined when the text is not JSON (JSON itself has no undefined). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The message of a Convox error body, `{"error": "..."}`; undefined for any other value. */
export function errorField(json: unknown): string | undefined {
  const error = typeof json === 'object' && json !== null ? (json as { error?: unknown }).error : undefined
  return typeof error === 'string' ? error : undefined
}
