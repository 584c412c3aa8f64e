import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cliAsset } from '../../../src/core/cli-install/release.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import { fakeCli, otherArch, realExecutable } from '../../../test-support/fake-cli.ts'
import type { FakeMirror } from '../../../test-support/fake-mirror.ts'
import { closedPort } from '../../../test-support/tls.ts'
import type { DriverOptions, InstallRunner } from '../../../test-support/install-driver.ts'
import {
  installInDriver,
  newInstallRunner,
  removeInstallRunners
} from '../../../test-support/install-driver.ts'
import {
  HTML_PAGE,
  LATEST_RELEASE_PATH,
  latestRelease,
  startFakeMirror
} from '../../../test-support/fake-mirror.ts'

/** The installer in a driver process of its own, as the action runs it (test-support/install-driver.ts). */

const platform = process.platform
const arch = process.arch
let mirror: FakeMirror
const newRunner = newInstallRunner
type Runner = InstallRunner
const install = (runner: Runner, options: DriverOptions, extra?: { lingerMs?: number }) =>
  installInDriver(mirror, runner, options, extra)

const template = () => `${mirror.url}/convox/{version}/{asset}`
const v3Path = (version: string) =>
  `/convox/${version}/${cliAsset(version, platform, arch, INPUT_NAMING).asset}`
const requestsTo = (p: string) => mirror.requests.filter(r => r.path === p).length

beforeAll(async () => {
  mirror = await startFakeMirror({
    [v3Path('3.24.9')]: { body: fakeCli() },
    [LATEST_RELEASE_PATH]: latestRelease('3.24.9')
  })
})

afterAll(async () => {
  await mirror.close()
  removeInstallRunners()
})

// The stand-in CLI is a Linux executable (test-support/fake-cli.ts), and the installer runs it.
const describeOnLinux = process.platform === 'linux' ? describe : describe.skip

describeOnLinux('installCli', () => {
  it('installs v3 from a mirror into the tool cache and runs it, and a second job finds it with zero requests', async () => {
    const runner = newRunner()
    const before = mirror.requests.length
    const first = await install(runner, { version: '3.24.9', downloadUrl: template() })
    const dir = path.join(runner.toolCache, 'convox', '3.24.9', arch)
    expect(first.error).toBeUndefined()
    expect(first.result).toEqual({ version: '3.24.9', path: path.join(dir, 'convox'), dir, cached: false })
    expect(mirror.requests.length - before).toBe(1)
    expect(fs.existsSync(`${dir}.complete`)).toBe(true)
    expect(fs.readdirSync(runner.temp)).toEqual([])
    expect(first.log.slice(-2)).toEqual([
      `Installed Convox CLI 3.24.9 in ${dir}`,
      'Convox CLI reports: client: 3.24.9'
    ])

    const again = await install(runner, { version: '3.24.9', downloadUrl: template() })
    expect(again.result).toEqual({ version: '3.24.9', path: path.join(dir, 'convox'), dir, cached: true })
    expect(mirror.requests.length - before).toBe(1)
    expect(again.log).toEqual([
      `Convox CLI 3.24.9 is in the tool cache: ${dir}`,
      'Convox CLI reports: client: 3.24.9'
    ])
    expect(fs.readdirSync(runner.temp)).toEqual([])
  })

  it('installs a v2 version from a mirror laid out like S3, which exits 1 for want of a rack', async () => {
    const version = '20240101000000'
    const { os: goos, asset } = cliAsset(version, platform, arch, INPUT_NAMING)
    const v2 = fakeCli({ output: `client: ${version}\nserver: none\nERROR: no racks found\n`, exitCode: 1 })
    mirror.route(`/release/${version}/cli/${goos}/${asset}`, { body: v2 })
    const runner = newRunner()
    const downloadUrl = `${mirror.url}/release/{version}/cli/{os}/{asset}`
    const outcome = await install(runner, { version, downloadUrl })
    const binary = path.join(runner.toolCache, 'convox', version, arch, 'convox')
    expect(outcome.result).toEqual({ version, path: binary, dir: path.dirname(binary), cached: false })
    expect(outcome.log).toContain(`Convox CLI reports: client: ${version}`)

    const before = mirror.requests.length
    const again = await install(runner, { version, downloadUrl })
    expect(again.result).toEqual({ version, path: binary, dir: path.dirname(binary), cached: true })
    expect(mirror.requests.length).toBe(before)
  })

  it('resolves latest through the GitHub API with the token, and caches it under the exact version', async () => {
    const runner = newRunner()
    const before = mirror.requests.length
    const outcome = await install(runner, { version: 'latest', downloadUrl: template(), token: 'ghs_test' })
    expect(outcome.result).toMatchObject({ version: '3.24.9', cached: false })
    expect(outcome.log).toContain('The latest Convox CLI is 3.24.9')
    const sent = mirror.requests.slice(before)
    expect(sent.map(r => r.path)).toEqual([LATEST_RELEASE_PATH, v3Path('3.24.9')])
    expect(sent[0]!.authorization).toBe('Bearer ghs_test')
    expect(sent[1]!.authorization).toBeUndefined()

    const again = await install(runner, { version: 'latest', downloadUrl: template() })
    expect(again.result).toMatchObject({ version: '3.24.9', cached: true })
    expect(mirror.requests.slice(before + 2).map(r => r.path)).toEqual([LATEST_RELEASE_PATH])
  })

  it('retries transient 5xx from the API and the download', async () => {
    mirror.route(LATEST_RELEASE_PATH, { ...latestRelease('3.25.0'), failFirst: { times: 1, status: 503 } })
    mirror.route(v3Path('3.25.0'), { body: fakeCli(), failFirst: { times: 2, status: 502 } })
    const before = requestsTo(LATEST_RELEASE_PATH)
    const outcome = await install(newRunner(), { version: 'latest', downloadUrl: template() })
    expect(outcome.error).toBeUndefined()
    expect(outcome.result).toMatchObject({ version: '3.25.0', cached: false })
    expect(outcome.log.some(line => /HTTP 503; retry 1 in/.test(line))).toBe(true)
    expect(requestsTo(LATEST_RELEASE_PATH) - before).toBe(2)
    expect(requestsTo(v3Path('3.25.0'))).toBe(3)
    mirror.route(LATEST_RELEASE_PATH, latestRelease('3.24.9'))
  })

  it.each([
    [
      'an HTML page',
      '3.0.1',
      { body: HTML_PAGE, contentType: 'text/html' },
      /sent an HTML page instead of the Convox CLI/
    ],
    [
      'a truncated file',
      '3.0.2',
      { body: realExecutable().subarray(0, 8192) },
      /sent a truncated file \(8192 bytes, its header needs \d+\)/
    ],
    [
      'a cut connection',
      '3.0.3',
      { body: realExecutable(), cutAfter: 4096 },
      /^Downloading the Convox CLI from \S+ failed: connection reset\.$/
    ]
  ])('refuses %s and caches nothing', async (_name, version, route, message) => {
    mirror.route(v3Path(version), route)
    const runner = newRunner()
    const outcome = await install(runner, { version, downloadUrl: template() })
    expect(outcome.error?.name).toBe('ConvoxError')
    expect(outcome.error?.message).toMatch(message)
    expect(outcome.error?.message).toContain(`${mirror.url}${v3Path(version)}`)
    expect(fs.readdirSync(runner.toolCache)).toEqual([])
    expect(fs.readdirSync(runner.temp)).toEqual([])
  })

  it('says there is no such version on 404, naming the URL', async () => {
    const outcome = await install(newRunner(), { version: '3.99.0', downloadUrl: template() })
    expect(outcome.error?.message).toBe(
      `There is no Convox CLI 3.99.0 at ${mirror.url}${v3Path('3.99.0')} (HTTP 404): ` +
        `the mirror has no ${cliAsset('3.99.0', platform, arch, INPUT_NAMING).asset} for 3.99.0; check cli-download-url and cli-version.`
    )
    expect(requestsTo(v3Path('3.99.0'))).toBe(1)
  })

  it('refuses a Linux executable on macOS', async () => {
    mirror.route('/convox/3.24.9/convox-macos', { body: realExecutable() })
    const outcome = await install(newRunner(), {
      version: '3.24.9',
      downloadUrl: template(),
      platform: 'darwin',
      arch: 'x64'
    })
    expect(outcome.error?.message).toMatch(
      /convox-macos sent a Linux \(ELF\) executable, not a macOS \(Mach-O\) executable/
    )
  })

  it.each([
    ['action', 'cli-version: 20240101000000'],
    ['command', '--version 20240101000000']
  ] as const)(
    'refuses v3 on Windows before any request, latest included, in the words of the %s',
    async (frontend, pin) => {
      const before = mirror.requests.length
      for (const version of ['3.24.9', 'latest']) {
        const runner = newRunner()
        const outcome = await install(runner, {
          version,
          downloadUrl: template(),
          platform: 'win32',
          arch: 'x64',
          frontend
        })
        expect(outcome.error?.message).toBe(
          `Convox CLI v3${version === 'latest' ? ' (latest)' : ''} has no Windows build: pin a v2 CLI with ${pin} ` +
            '(a 14-digit version listed at https://github.com/convox/rack/releases), or run this on Linux or macOS ' +
            '(a Linux runner, or WSL) to use v3.'
        )
        expect(fs.readdirSync(runner.toolCache)).toEqual([])
        expect(fs.readdirSync(runner.temp)).toEqual([])
      }
      expect(mirror.requests.length).toBe(before)
    }
  )

  it('explains an API that cannot be reached', async () => {
    const outcome = await install(newRunner(), {
      version: 'latest',
      apiUrl: 'https://127.0.0.1:9',
      retryForMs: 0
    })
    // The REST client's one "no answer" sentence (src/core/http/rest.ts), with the lookup's advice.
    expect(outcome.error?.message).toMatch(
      /^Could not ask https:\/\/127.0.0.1:9\/repos\/convox\/convox\/releases\/latest for the latest Convox CLI: no answer from https:\/\/127.0.0.1:9 \(connection refused, still after [\d.]+s\); pin cli-version/
    )
  })

  it.each([
    ['does not resolve', async () => 'cli.example.invalid', /the host name does not resolve/],
    [
      'refuses connections',
      async () => `127.0.0.1:${await closedPort()}`,
      /it refuses connections, still after [\d.]+s/
    ]
  ])(
    "fails within seconds, not tool-cache's retries, when the download host %s",
    async (_name, host, cause) => {
      const where = await host()
      const runner = newRunner()
      const started = performance.now()
      const outcome = await install(runner, {
        version: '3.24.9',
        downloadUrl: `https://${where}/convox/{version}/{asset}`
      })
      expect(performance.now() - started).toBeLessThan(8_000)
      expect(outcome.error?.name).toBe('ConvoxError')
      expect(outcome.error?.message).toMatch(
        new RegExp(`^Could not download the Convox CLI from ${where.replaceAll('.', '\\.')}: `)
      )
      expect(outcome.error?.message).toMatch(cause)
      expect(outcome.error?.message).toMatch(
        /; check the host in cli-download-url, and that the mirror has cli-version 3\.24\.9\.$/
      )
      expect(fs.readdirSync(runner.toolCache)).toEqual([])
    }
  )

  it('leaves no connection open to the API or the mirror once it is done', async () => {
    const runner = newRunner()
    const outcome = await install(runner, { version: 'latest', downloadUrl: template() }, { lingerMs: 3000 })
    expect(outcome.result).toMatchObject({ version: '3.24.9' })
    expect(outcome.openWhileAlive).toBe(0)
  })
})

describeOnLinux('the version run after an install', () => {
  const binaryOf = (runner: Runner, version: string) =>
    path.join(runner.toolCache, 'convox', version, arch, 'convox')
  const doesNotRun = (binary: string, cause: string) =>
    `The Convox CLI at ${binary} does not run on this runner: ${cause}.`

  it.each([
    [
      'one built for the other processor',
      '3.1.1',
      fakeCli({ arch: otherArch() }),
      `it is built for ${otherArch()}, and this runner is ${arch}`
    ],
    [
      'one whose program loader is missing',
      '3.1.2',
      fakeCli({ interpreter: '/nonexistent/ld-convox.so.1' }),
      'its program loader is missing (ENOENT on an existing file): it is linked against a C library this runner does not have'
    ],
    [
      'one that fails',
      '3.1.3',
      fakeCli({ exitCode: 3, output: '\x1b[31mpanic: boom\x1b[0m\n' }),
      '`convox version` exited with code 3 (panic: boom)'
    ]
  ])('refuses %s, and takes it out of the tool cache again', async (_name, version, body, cause) => {
    mirror.route(v3Path(version), { body })
    const runner = newRunner()
    const outcome = await install(runner, { version, downloadUrl: template() })
    expect(outcome.error).toEqual({
      name: 'ConvoxError',
      message: doesNotRun(binaryOf(runner, version), cause)
    })
    expect(fs.readdirSync(runner.toolCache)).toEqual([])
    expect(fs.readdirSync(runner.temp)).toEqual([])
  })

  it('gives up on a CLI that does not finish in time, and does not wait for it', async () => {
    mirror.route(v3Path('3.1.4'), { body: fakeCli({ hang: true }) })
    const runner = newRunner()
    const started = performance.now()
    const outcome = await install(runner, {
      version: '3.1.4',
      downloadUrl: template(),
      versionTimeoutMs: 300
    })
    expect(outcome.error?.message).toBe(
      doesNotRun(binaryOf(runner, '3.1.4'), '`convox version` did not finish within 0.3 s')
    )
    expect(performance.now() - started).toBeLessThan(10_000)
    // @actions/exec cannot kill it; on a runner the job's end does. Here the test does.
    killRunning(binaryOf(runner, '3.1.4'))
  })

  it('refuses a cached CLI without the execute permission, and leaves the tool cache as it was', async () => {
    const runner = newRunner()
    const binary = binaryOf(runner, '3.1.5')
    fs.mkdirSync(path.dirname(binary), { recursive: true })
    fs.writeFileSync(binary, fakeCli(), { mode: 0o644 })
    fs.writeFileSync(`${path.dirname(binary)}.complete`, '')
    const before = mirror.requests.length
    const outcome = await install(runner, { version: '3.1.5', downloadUrl: template() })
    expect(outcome.error?.message).toBe(
      doesNotRun(
        binary,
        'it may not be executed (EACCES): it lacks the execute permission, or its file system is mounted noexec'
      )
    )
    expect(fs.readFileSync(binary)).toEqual(fakeCli())
    expect(mirror.requests.length).toBe(before)
  })
})

/** Ends every process running `binary` (Linux: by /proc/<pid>/exe; a deleted file reads "... (deleted)"). */
function killRunning(binary: string): void {
  for (const pid of fs.readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    let exe: string
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`)
    } catch {
      continue
    }
    if (exe === binary || exe === `${binary} (deleted)`) process.kill(Number(pid), 'SIGKILL')
  }
}
