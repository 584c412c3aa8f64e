import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox } from '../test-support/fake-convox.ts'
import { startFakeConvox } from '../test-support/fake-convox.ts'
import type { FakeMirror } from '../test-support/fake-mirror.ts'
import { HTML_PAGE, startFakeMirror } from '../test-support/fake-mirror.ts'
import type { Runner } from '../test-support/run-action.ts'
import { findLeaks, newRunner, removeRunner, runStep } from '../test-support/run-action.ts'

/**
 * The CLI install through the action, as a deploy job uses it: login plus cli-version, then a
 * later step runs `convox` from PATH. The "CLI" here is a copy of cat, a real executable of this
 * machine, so the later step can show that what it finds on PATH reads the settings the action
 * wrote through CONVOX_CONFIG.
 */

const KEY = 'CliJobRackKeyAaBbCcDd0123'
const VERSION = '3.24.9'
const ASSET = process.arch === 'arm64' ? 'convox-linux-arm64' : 'convox-linux'
const describeOnLinux = process.platform === 'linux' ? describe : describe.skip

describeOnLinux('cli-version through the action', () => {
  let rack: FakeConvox
  let mirror: FakeMirror
  const runners: Runner[] = []
  beforeAll(async () => {
    rack = await startFakeConvox({ kind: 'rack', rack: { password: KEY } })
    mirror = await startFakeMirror({
      [`/convox/${VERSION}/${ASSET}`]: { body: fs.readFileSync('/bin/cat') },
      [`/convox/3.0.0/${ASSET}`]: { body: HTML_PAGE, contentType: 'text/html' }
    })
  })
  afterAll(async () => {
    for (const runner of runners) removeRunner(runner)
    await Promise.all([rack.close(), mirror.close()])
  })
  const inputs = (version: string) => ({
    host: rack.host,
    password: KEY,
    'ca-cert': rack.caCert,
    'cli-version': version,
    'cli-download-url': `${mirror.url}/convox/{version}/{asset}`
  })
  const fresh = (toolCache?: string) => {
    const runner = newRunner()
    if (toolCache) runner.toolCache = toolCache
    runners.push(runner)
    return runner
  }

  it('installs the CLI, and a later step runs it from PATH reading the settings the action wrote', async () => {
    const runner = fresh()
    const step = await runStep(runner, inputs(VERSION))
    expect(step.error).toBeUndefined()
    expect(step.outputs['cli-version']).toBe(VERSION)
    expect(step.outputs['cli-path']).toBe(
      path.join(runner.toolCache, 'convox', VERSION, process.arch, 'convox')
    )
    expect(step.path).toEqual([path.dirname(step.outputs['cli-path']!)])
    expect(step.summary).toContain(`${VERSION} at`)
    expect(findLeaks(step, [KEY], { host: rack.host })).toEqual([])

    // The next step, as the runner starts it: PATH and the exported variables from this one.
    const env = { ...runner.jobEnv, PATH: [...runner.jobPath, process.env.PATH].join(path.delimiter) }
    const host = execFileSync('convox', [path.join(runner.jobEnv.CONVOX_CONFIG!, 'host')], {
      env,
      encoding: 'utf8'
    })
    expect(host).toBe(rack.host)
  })

  it('downloads nothing in a second job on the same runner with the same version', async () => {
    const first = fresh()
    expect((await runStep(first, inputs(VERSION))).error).toBeUndefined()
    const before = mirror.requests.length
    const second = fresh(first.toolCache)
    const step = await runStep(second, inputs(VERSION))
    expect(step.error).toBeUndefined()
    expect(step.outputs['cli-version']).toBe(VERSION)
    expect(mirror.requests.length).toBe(before)
    expect(step.summary).toContain('from the tool cache')
  })

  it('refuses an HTML page instead of the CLI, before writing any settings', async () => {
    const runner = fresh()
    const step = await runStep(runner, inputs('3.0.0'))
    expect(step.code).toBe(1)
    expect(step.error).toMatch(/HTML/)
    // Thrown in dist/features.cjs, told apart in dist/index.cjs: one ConvoxError class for both.
    expect(step.error).not.toMatch(/Unexpected error/)
    expect(step.error).toContain(`${mirror.url}/convox/3.0.0/${ASSET}`)
    expect(fs.existsSync(path.join(runner.home, '.convox'))).toBe(false)
    expect(fs.readdirSync(runner.toolCache)).toEqual([])
    expect(step.path).toEqual([])
  })
})
