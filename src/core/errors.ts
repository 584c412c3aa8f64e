import { redact } from './secrets.ts'

/**
 * Every failure a user can see is a ConvoxError: one sentence that says what is wrong and what to
 * do. Anything else that escapes is a bug, and the front ends say so in the same words.
 */
export class ConvoxError extends Error {
  override name = 'ConvoxError'
}

/** Bad input: raised before anything is sent or written. */
export class InputError extends ConvoxError {
  override name = 'InputError'
}

/**
 * What to say of an error that is not a ConvoxError: a bug, to be reported. Its stack can quote
 * anything the process held, so every form of every secret (secretForms) is redacted.
 */
export function unexpectedError(error: unknown, forms: readonly string[]): string {
  return `Unexpected error in convox-login (please report it): ${redact(String((error as Error)?.stack ?? error), forms)}`
}

/** The one line a failed step or command ends with: the sentence of a ConvoxError, else a bug. */
export function failureText(error: unknown, forms: readonly string[]): string {
  return error instanceof ConvoxError ? redact(error.message, forms) : unexpectedError(error, forms)
}
