import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import {
  expectNoLeaks,
  loginTo,
  OTHER_AUTH,
  RACK,
  RACK_KEY,
  seedOtherLogin,
  settingsDir
} from '../../../test-support/action-login.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { runnerPool } from '../../../test-support/run-action.ts'
import { mode, read } from '../../../test-support/settings-dir.ts'

/**
 * A login into a settings directory that already holds other logins: other hosts' entries kept
 * byte for byte, this host's key replaced, modes tightened to 0600.
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

describe('merging into existing settings', () => {
  let rack: FakeConvox
  beforeAll(async () => {
    rack = await startFakeConvox(RACK)
  })
  afterAll(() => rack.close())

  it.concurrent("keeps another host's auth entry byte for byte", async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    seedOtherLogin(dir)
    const result = await loginTo(rack, runner, { password: RACK_KEY })
    expect(result.error).toBeUndefined()
    const auth = read(dir, 'auth')
    expect(auth).toBe(`{\n  "${rack.host}": "${RACK_KEY}",\n  "other.example.com": "x\\u0026y"\n}`)
    expect(auth.split('\n')).toContain(OTHER_AUTH.split('\n')[1])
    expect(read(dir, 'host')).toBe(rack.host)
    // As `convox login` does: a rack chosen on another host is no fallback for this one.
    expect(fs.existsSync(path.join(dir, 'rack'))).toBe(false)
    expect(result.stdout).toContain(`\nRemoved ${path.join(dir, 'rack')}, left by an earlier login.\n`)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('gives existing files mode 0600, even when they were 0644', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    fs.mkdirSync(dir, { mode: 0o700 })
    for (const name of ['auth', 'host', 'console']) {
      fs.writeFileSync(path.join(dir, name), name === 'auth' ? OTHER_AUTH : 'other.example.com', {
        mode: 0o644
      })
      fs.chmodSync(path.join(dir, name), 0o644)
    }
    const result = await loginTo(rack, runner, { password: RACK_KEY })
    expect(result.error).toBeUndefined()
    for (const name of ['auth', 'host', 'console']) expect(mode(path.join(dir, name))).toBe(0o600)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })

  it.concurrent('replaces this host’s old key and leaves the rest', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(
      path.join(dir, 'auth'),
      `{\n  "${rack.host}": "OldKeyForThisHost",\n  "z.example.com": "z"\n}`
    )
    const result = await loginTo(rack, runner, { password: RACK_KEY })
    expect(result.error).toBeUndefined()
    expect(read(dir, 'auth')).toBe(`{\n  "${rack.host}": "${RACK_KEY}",\n  "z.example.com": "z"\n}`)
    expectNoLeaks(result, runner, [RACK_KEY], rack.host)
  })
})
