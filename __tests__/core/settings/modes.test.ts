import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { hasPosixModes, protectionNote, settingsStatMode } from '../../../src/core/settings/modes.ts'
import { newJournal } from '../../../src/core/settings/journal.ts'
import { writeSettings } from '../../../src/core/settings/settings.ts'
import { silentLog } from '../../../src/core/log.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'

/** What the settings' modes are, and mean, on each of the three runners' systems. */

describe('settings modes per platform', () => {
  it.each([
    ['linux', true, 0o600, 0o700],
    ['darwin', true, 0o600, 0o700],
    ['win32', false, 0o666, 0o666]
  ] as const)(
    '%s: POSIX modes %s, stat shows %o for a file and %o for the directory',
    (platform, posix, file, dir) => {
      expect(hasPosixModes(platform)).toBe(posix)
      expect(settingsStatMode(platform, 'file')).toBe(file)
      expect(settingsStatMode(platform, 'dir')).toBe(dir)
    }
  )

  it('says on Windows only that the directory ACL, not a mode, protects the key', () => {
    expect(protectionNote('linux', '/home/runner/.convox')).toBeUndefined()
    expect(protectionNote('darwin', '/Users/runner/.convox')).toBeUndefined()
    expect(protectionNote('win32', 'C:\\Users\\runneradmin\\.convox')).toBe(
      'Windows has no file modes: the key in C:\\Users\\runneradmin\\.convox is as private as the access control list ' +
        'that directory inherits (under your user profile: you, SYSTEM and Administrators; elsewhere, whatever its parent allows).'
    )
  })

  it('matches what this machine really shows after a write', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-modes-'))
    try {
      const dir = path.join(root, 'convox')
      writeSettings(
        [{ file: 'auth', key: 'h.example.com', value: 'ModesKey0123' }],
        newJournal(dir),
        silentLog,
        INPUT_NAMING
      )
      expect(fs.statSync(dir).mode & 0o777).toBe(settingsStatMode(process.platform, 'dir'))
      expect(fs.statSync(path.join(dir, 'auth')).mode & 0o777).toBe(
        settingsStatMode(process.platform, 'file')
      )
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })
})
