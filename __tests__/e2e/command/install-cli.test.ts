import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { cliAsset } from '../../../src/core/cli-install/release.ts'
import { FLAG_NAMING } from '../../../src/cli/args.ts'
import type { FakeMirror } from '../../../test-support/fake-mirror.ts'
import { realExecutable } from '../../../test-support/fake-cli.ts'
import { startFakeMirror } from '../../../test-support/fake-mirror.ts'
import { parseFileCommands } from '../../../test-support/run-action.ts'
import { evalInBash, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { failingDownloadHosts } from '../../../test-support/failing-download-hosts.ts'

/**
 * convox-login install-cli end to end: the action's installer under --cache-dir, one directory per
 * version, and the binary's directory handed on the way each CI or shell takes a PATH entry.
 */

const VERSION = '3.24.9'
const machines = machinePool()
let mirror: FakeMirror
const template = () => `${mirror.url}/convox/{version}/{asset}`
const assetPath = `/convox/${VERSION}/${cliAsset(VERSION, process.platform, process.arch, FLAG_NAMING).asset}`
const downloads = () => mirror.requests.filter(r => r.path === assetPath).length

beforeAll(async () => {
  mirror = await startFakeMirror({ [assetPath]: { body: realExecutable() } })
})

afterAll(async () => {
  await mirror.close()
  machines.removeAll()
})

const install = (...extra: string[]) => [
  'install-cli',
  '--version',
  VERSION,
  '--download-url',
  template(),
  ...extra
]

describe('install-cli', () => {
  it('caches under ~/.cache/convox-login by default; a second run downloads nothing; sh puts it on PATH', async () => {
    const m = machines.fresh()
    const before = downloads()
    const first = await runCli(m, install())
    expect(first.stderr).toContain(`Installed Convox CLI ${VERSION}`)
    expect(first.code).toBe(0)
    const dir = path.join(m.home, '.cache', 'convox-login', 'convox', VERSION, process.arch)
    expect(fs.existsSync(path.join(dir, 'convox'))).toBe(true)
    const second = await runCli(m, install())
    expect(second.code).toBe(0)
    expect(second.stderr).toContain('is in the tool cache')
    expect(downloads() - before).toBe(1)
    expect(second.stdout).toBe(first.stdout)
    const vars = await evalInBash(first.stdout, ['PATH'])
    expect(vars.PATH!.split(path.delimiter)[0]).toBe(dir)
    expect(
      execFileSync('bash', ['--norc', '-c', `${first.stdout}command -v convox`], { encoding: 'utf8' })
    ).toBe(`${path.join(dir, 'convox')}\n`)
  })

  it('json prints the version and path; --cache-dir and XDG_CACHE_HOME choose the cache', async () => {
    const m = machines.fresh()
    const cache = path.join(m.root, 'cache')
    const json = await runCli(m, install('--format', 'json', '--cache-dir', cache))
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({
      'cli-version': VERSION,
      'cli-path': path.join(cache, 'convox', VERSION, process.arch, 'convox')
    })
    const xdg = await runCli(m, install('--format', 'json'), {
      env: { XDG_CACHE_HOME: path.join(m.root, 'xdg') }
    })
    expect(JSON.parse(xdg.stdout)['cli-path']).toContain(path.join(m.root, 'xdg', 'convox-login', 'convox'))
  })

  it('hands the directory to GitHub (GITHUB_PATH), CircleCI (BASH_ENV) and Azure (prependpath)', async () => {
    const m = machines.fresh()
    const cache = path.join(m.root, 'cache')
    const dir = path.join(cache, 'convox', VERSION, process.arch)
    const file = (name: string) => {
      const f = path.join(m.work, name)
      fs.writeFileSync(f, '')
      return f
    }
    const github = {
      GITHUB_ACTIONS: 'true',
      GITHUB_PATH: file('path'),
      GITHUB_OUTPUT: file('output'),
      GITHUB_ENV: file('env')
    }
    const onGitHub = await runCli(m, install('--cache-dir', cache), { env: github })
    expect(onGitHub.code).toBe(0)
    expect(fs.readFileSync(github.GITHUB_PATH, 'utf8').trim()).toBe(dir)
    expect(parseFileCommands(fs.readFileSync(github.GITHUB_OUTPUT, 'utf8'))['cli-version']).toBe(VERSION)

    const bashEnv = file('bash_env')
    const onCircle = await runCli(m, install('--cache-dir', cache), {
      env: { CIRCLECI: 'true', BASH_ENV: bashEnv }
    })
    expect(onCircle.code).toBe(0)
    expect(onCircle.stdout).toBe('')
    expect((await evalInBash(`. '${bashEnv}'`, ['PATH'])).PATH!.split(path.delimiter)[0]).toBe(dir)

    const onAzure = await runCli(m, install('--cache-dir', cache), { env: { TF_BUILD: 'True' } })
    expect(onAzure.code).toBe(0)
    expect(onAzure.stdout).toBe(`##vso[task.prependpath]${dir}\n`)
  })

  it("a version the mirror does not have: the action's sentence, exit 1", async () => {
    const result = await runCli(machines.fresh(), [
      'install-cli',
      '--version',
      '3.0.1',
      '--download-url',
      template()
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^convox-login: .*404/m)
    expect(result.stdout).toBe('false\n')
  })

  it.each(failingDownloadHosts(() => mirror.url))(
    "a download host that %s: one sentence in the command's words, within seconds",
    async (_name, host, cause) => {
      const where = await host()
      const started = performance.now()
      const result = await runCli(machines.fresh(), [
        'install-cli',
        '--version',
        '3.99.0',
        '--download-url',
        `https://${where}/convox/{version}/{asset}`
      ])
      expect(performance.now() - started).toBeLessThan(8_000)
      expect(result.code).toBe(1)
      const lines = result.stderr.trim().split('\n')
      expect(lines.at(-1)).toMatch(/^convox-login: /)
      expect(lines.at(-1)).toContain(where)
      expect(lines.at(-1)).toMatch(cause)
      expect(lines.at(-1)).toMatch(/--download-url.*--version( 3\.99\.0)?\.$/)
      expect(lines.at(-1)).not.toMatch(/cli-download-url|cli-version/)
    }
  )
})
