/**
 * Every failure a user can see is a ConvoxError: one sentence that says what is wrong and what to
 * do. Anything else that escapes is a bug, and the adapters say so.
 */
export class ConvoxError extends Error {
  override name = 'ConvoxError'
}

/** Bad input: raised before anything is sent or written. */
export class InputError extends ConvoxError {
  override name = 'InputError'
}
