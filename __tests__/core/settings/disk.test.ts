import { afterAll, expect, it, jest } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { silentLog } from '../../../src/core/log.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'

/**
 * A disk that fills up in the middle of a login (ENOSPC), which a test cannot make happen for
 * real without a file system of its own: node:fs is wrapped so that one chosen write fails. The
 * settings must come out as they went in, and the error must be one sentence.
 */

const real = await import('node:fs')
let writesLeft = Infinity
const enospc = (file: string) =>
  Object.assign(new Error(`ENOSPC: no space left on device, open '${file}'`), { code: 'ENOSPC', path: file })
jest.unstable_mockModule('node:fs', () => ({
  ...real,
  writeFileSync: (file: string, ...rest: unknown[]) => {
    if (writesLeft-- <= 0) throw enospc(file)
    return (real.writeFileSync as (...args: unknown[]) => void)(file, ...rest)
  }
}))
const { newJournal } = await import('../../../src/core/settings/journal.ts')
const { writeSettings } = await import('../../../src/core/settings/settings.ts')

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-settings-disk-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const HOST = 'rack.example.com'
const edits = [
  { file: 'auth', key: HOST, value: 'DiskFullKey0123456789' },
  { file: 'host', value: HOST },
  { file: 'console', value: HOST },
  { file: 'rack', value: null }
] as const

it.each([0, 1, 2])('no space left at write %i: one sentence, and the directory as it was', failAt => {
  const dir = path.join(root, `case-${failAt}`)
  fs.mkdirSync(dir, { mode: 0o700 })
  fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "x"\n}', { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'rack'), 'acme/old', { mode: 0o600 })
  const before = snapshot(dir)
  const saved: unknown[] = []
  writesLeft = failAt
  try {
    expect(() =>
      writeSettings([...edits], newJournal(dir), silentLog, INPUT_NAMING, j => void saved.push(j))
    ).toThrow(
      `Cannot write the Convox settings in ${dir}: no space is left on the device; nothing was changed. ` +
        'Choose a config-dir this job can write, such as ${{ runner.temp }}/convox.'
    )
  } finally {
    writesLeft = Infinity
  }
  expect(snapshot(dir)).toEqual(before)
  // The journal was saved before the first write, then put back to what it was: nothing to undo.
  expect(saved).toHaveLength(2)
  expect((saved[1] as { entries: unknown[] }).entries).toEqual([])
})

it('a directory that cannot be created for want of space: nothing is left of it', () => {
  const dir = path.join(root, 'new', 'convox')
  writesLeft = 0
  try {
    expect(() => writeSettings([...edits], newJournal(dir), silentLog, INPUT_NAMING)).toThrow(
      /no space is left on the device/
    )
  } finally {
    writesLeft = Infinity
  }
  expect(fs.existsSync(path.join(root, 'new'))).toBe(false)
})
