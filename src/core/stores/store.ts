/**
 * Where a keyroll keeps the keys so that none is ever lost: a pair of secrets, `<NAME>` holding
 * the live key and `<NAME>_NEXT` holding a key that may be about to go live. The implementations
 * are github.ts, gitlab.ts and key-file.ts; the keyroll only knows this interface.
 */
export interface SecretStore {
  /** For messages, e.g. `repository secret CONVOX_PASSWORD_NEXT of acme/app`. */
  describe(which: 'current' | 'next'): string
  writeNext(key: string): Promise<void>
  writeCurrent(key: string): Promise<void>
  deleteNext(): Promise<void>
  /** Ends the store's connections, once its last write is done. */
  close(): void
}
