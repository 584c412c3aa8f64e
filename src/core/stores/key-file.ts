import { rmSync } from 'node:fs'
import type { SecretStore } from './store.ts'
import { writeAtomic } from '../settings/files.ts'

/**
 * A keyroll's store when the CI has none we can write to: one file (mode 0600, written before
 * the rack is touched) that the caller moves into its own secret store. Its contract is simple:
 * after a keyroll the file exists exactly when it holds a key the rack may use. So it is removed
 * when its key is known to be unused (a refused or never-started roll), and kept once that key is
 * live: removing NEXT then would lose the only copy of the rack's key.
 */
export class KeyFileStore implements SecretStore {
  private readonly file: string
  private live = false

  constructor(file: string) {
    this.file = file
  }

  describe(which: 'current' | 'next'): string {
    return which === 'next' ? `the file ${this.file}` : `the file ${this.file} (store it as the key)`
  }

  async writeNext(key: string): Promise<void> {
    writeAtomic(this.file, key)
  }

  async writeCurrent(key: string): Promise<void> {
    writeAtomic(this.file, key)
    this.live = true
  }

  async deleteNext(): Promise<void> {
    if (!this.live) rmSync(this.file, { force: true })
  }

  /** Each write is whole and closed at once: nothing stays open. */
  close(): void {}
}
