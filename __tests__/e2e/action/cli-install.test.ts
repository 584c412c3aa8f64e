import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import { CLI_OUTPUT, fakeCli, otherArch } from '../../../test-support/fake-cli.ts'
import type { FakeMirror } from '../../../test-support/fake-mirror.ts'
import { HTML_PAGE, startFakeMirror } from '../../../test-support/fake-mirror.ts'
import type { Runner } from '../../../test-support/run-action.ts'
import { findLeaks, newRunner, removeRunner, runStep } from '../../../test-support/run-action.ts'
import { failingDownloadHosts } from '../../../test-support/failing-download-hosts.ts'

/**
 * The CLI install through the action, as a deploy job uses it: login plus cli-version, then a
 * later step runs `convox` from PATH. The "CLI" is a tiny Linux executable that prints what
 * `convox version` prints (test-support/fake-cli.ts), which the action runs once after installing.
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
      [`/convox/${VERSION}/${ASSET}`]: { body: fakeCli() },
      [`/convox/3.0.0/${ASSET}`]: { body: HTML_PAGE, contentType: 'text/html' },
      [`/convox/3.0.1/${ASSET}`]: { body: fakeCli({ arch: otherArch() }) }
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

  it('installs the CLI and runs it once, and a later step runs it from PATH with the settings the action wrote', async () => {
    const runner = fresh()
    const step = await runStep(runner, inputs(VERSION))
    expect(step.error).toBeUndefined()
    expect(step.outputs['cli-version']).toBe(VERSION)
    expect(step.outputs['cli-path']).toBe(
      path.join(runner.toolCache, 'convox', VERSION, process.arch, 'convox')
    )
    expect(step.path).toEqual([path.dirname(step.outputs['cli-path']!)])
    expect(step.summary).toContain(`${VERSION} at`)
    expect(step.stdout).toContain('\nConvox CLI reports: client: 3.24.9\n')
    expect(findLeaks(step, [KEY], { host: rack.host })).toEqual([])

    // The next step, as the runner starts it: PATH and the exported variables from this one.
    const env = { ...runner.jobEnv, PATH: [...runner.jobPath, process.env.PATH].join(path.delimiter) }
    expect(execFileSync('convox', ['version'], { env, encoding: 'utf8' })).toBe(CLI_OUTPUT)
    expect(fs.readFileSync(path.join(runner.jobEnv.CONVOX_CONFIG!, 'host'), 'utf8')).toBe(rack.host)
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
    expect(step.stdout).toContain('\nConvox CLI reports: client: 3.24.9\n')
  })

  it('refuses an HTML page instead of the CLI, before writing any settings', async () => {
    const runner = fresh()
    const step = await runStep(runner, inputs('3.0.0'))
    expect(step.code).toBe(1)
    expect(step.error).toMatch(/HTML/)
    // A ConvoxError: its sentence, not the report of a bug.
    expect(step.error).not.toMatch(/Unexpected error/)
    expect(step.error).toContain(`${mirror.url}/convox/3.0.0/${ASSET}`)
    expect(fs.existsSync(path.join(runner.home, '.convox'))).toBe(false)
    expect(fs.readdirSync(runner.toolCache)).toEqual([])
    expect(step.path).toEqual([])
  })

  it('fails, before writing any settings, when the CLI does not run on this runner', async () => {
    const runner = fresh()
    const step = await runStep(runner, inputs('3.0.1'))
    expect(step.code).toBe(1)
    const binary = path.join(runner.toolCache, 'convox', '3.0.1', process.arch, 'convox')
    expect(step.error).toBe(
      `The Convox CLI at ${binary} does not run on this runner: it is built for ${otherArch()}, and this runner is ${process.arch}.`
    )
    expect(fs.existsSync(path.join(runner.home, '.convox'))).toBe(false)
    expect(fs.readdirSync(runner.toolCache)).toEqual([])
    expect(step.path).toEqual([])
  })

  it.each(failingDownloadHosts(() => mirror.url))(
    "a download host that %s: one sentence in the action's words, within seconds",
    async (_name, host, cause) => {
      const where = await host()
      const runner = fresh()
      const step = await runStep(runner, {
        ...inputs('3.99.0'),
        'cli-download-url': `https://${where}/convox/{version}/{asset}`
      })
      expect(step.durationMs).toBeLessThan(8_000)
      expect(step.code).toBe(1)
      expect(step.error).toContain(where)
      expect(step.error).toMatch(cause)
      expect(step.error).toMatch(/cli-download-url.*cli-version( 3\.99\.0)?\.$/)
      expect(step.error).not.toMatch(/--/)
      expect(fs.existsSync(path.join(runner.home, '.convox'))).toBe(false)
    }
  )
})
