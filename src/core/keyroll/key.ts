import { randomBytes } from 'node:crypto'

export const RACK_PASSWORD_LENGTH = 50
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** 248 = 4 × 62: bytes from it up are dropped, so every character is equally likely. */
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length)

/**
 * 50 letters and digits from the system's cryptographic source: the most a v2 Rack's Password
 * parameter takes, and characters that survive Basic auth, URL user-info and the double form
 * encoding of PUT /system unchanged.
 */
export function generateRackPassword(bytes: (size: number) => Uint8Array = randomBytes): string {
  let key = ''
  while (key.length < RACK_PASSWORD_LENGTH) {
    for (const byte of bytes(64)) {
      if (byte < UNBIASED_LIMIT && key.length < RACK_PASSWORD_LENGTH) key += ALPHABET[byte % ALPHABET.length]
    }
  }
  return key
}
