import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { secretForms } from '../../../src/core/secrets.ts'
import { makeUnwritable } from '../../../test-support/disk.ts'
import type { FakeConvoxOptions } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import {
  filesContaining,
  findLeaks,
  runnerPool,
  runStepTrustingInputs
} from '../../../test-support/run-action.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'

/**
 * The bundled action against servers that misbehave on purpose (text that would be workflow
 * commands, echoed credentials, Retry-After storms), settings laid out by the v3 CLI, and disks
 * and runner directories that cannot be written.
 */

const RACK_KEY = 'RackKeyHardeningQwErTyUiOpAs'
/** A key whose URL-encoded form differs from it, so every form is a distinct string to find. */
const ODD_KEY = 'k3y+with/odd=chars&more+Hardening'
const TOKEN = 'CliTokenHardening0123456789abcdef'

const step = runStepTrustingInputs
const { fresh, removeAll } = runnerPool()
afterAll(removeAll)
const settingsDir = (runner: Runner) => path.join(runner.home, '.convox')

async function withFake<T>(
  options: FakeConvoxOptions,
  fn: (fake: Awaited<ReturnType<typeof startFakeConvox>>) => Promise<T>
) {
  const fake = await startFakeConvox(options)
  try {
    return await fn(fake)
  } finally {
    await fake.close()
  }
}

/**
 * Lines the runner would take for a command (`::name::`, after any leading white space) that
 * carry what the server injected. The one `::error::` of a failed step is ours, its text escaped
 * onto one line: it may quote the server, as data.
 */
function injectedCommands(result: StepResult): string[] {
  return result.stdout
    .split('\n')
    .filter(line => /^\s*::/.test(line) && !line.startsWith('::error::'))
    .filter(line => line.includes('pwned') || /^\s*::stop-commands::/.test(line))
}

/** Rack fields as a compromised rack could send them: line breaks, commands, HTML. */
const HOSTILE = {
  name: 'production',
  status: 'running\n::warning::pwned-status <script>alert(1)</script>',
  version: '20240101000000\r\n::stop-commands::pwnedtoken',
  provider: '::error::pwned-provider\u2028::notice::pwned\u0085::debug::pwned'
}

describe('text from a server is data', () => {
  it.concurrent(
    'a Rack whose GET /system fields hold workflow commands: no command, clean outputs, escaped summary',
    async () => {
      await withFake({ kind: 'rack', rack: { ...HOSTILE, password: RACK_KEY } }, async fake => {
        const runner = fresh()
        const result = await step(runner, { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert })
        expect(result.error).toBeUndefined()
        expect(result.code).toBe(0)
        expect(injectedCommands(result)).toEqual([])
        for (const value of Object.values(result.outputs)) expect(value).not.toMatch(/[\p{Cc}\u2028\u2029]/u)
        expect(result.outputs['rack-status']).toBe(
          'running ::warning::pwned-status <script>alert(1)</script>'
        )
        expect(result.outputs['rack-provider']).toBe('error::pwned-provider ::notice::pwned ::debug::pwned')
        expect(result.summary).not.toContain('<script>')
        expect(result.summary).toContain('&lt;script&gt;')
        expect(findLeaks(result, [RACK_KEY], { host: fake.host })).toEqual([])
      })
    }
  )

  it.concurrent('a Console whose racks and proxied GET /system hold workflow commands', async () => {
    await withFake(
      {
        kind: 'console',
        users: [{ token: TOKEN, id: 'user\n::warning::pwned-id' }],
        racks: [
          { org: 'acme', ...HOSTILE },
          { org: 'acme', name: 'staging\n::warning::pwned-name' }
        ]
      },
      async fake => {
        const runner = fresh()
        const inputs = { host: fake.host, password: TOKEN, rack: 'acme/production', 'ca-cert': fake.caCert }
        const result = await step(runner, inputs)
        expect(result.error).toBeUndefined()
        expect(injectedCommands(result)).toEqual([])
        for (const value of Object.values(result.outputs)) expect(value).not.toMatch(/[\p{Cc}\u2028\u2029]/u)
        // A rack name the key cannot see is listed in the error: one escaped line, no command.
        const missing = await step(fresh(), { ...inputs, rack: 'acme/nope' })
        expect(missing.code).toBe(1)
        expect(missing.error).toMatch(
          /it can see acme\/production, acme\/staging ::warning::pwned-name: set the rack input/
        )
        expect(injectedCommands(missing)).toEqual([])
      }
    )
  })

  it.concurrent.each([
    ['a JSON error', (text: string) => JSON.stringify({ error: text })],
    ['plain text', (text: string) => text]
  ])('an error body (%s) with line breaks and commands stays one escaped line', async (_what, body) => {
    await withFake({ kind: 'rack', rack: { password: RACK_KEY } }, async fake => {
      fake.fail(
        // Leading colons and white space go, and only the first line is quoted.
        {
          status: 400,
          body: body(' \t::warning::pwned \x1b[31mbad\u2028::stop-commands::pwned\r::warning::pwned')
        },
        { path: '/auth' }
      )
      const result = await step(fresh(), { host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert })
      expect(result.code).toBe(1)
      expect(result.error).toBe(
        `${fake.host} answered GET /auth with HTTP 400: warning::pwned [31mbad ::stop-commands::pwned.`
      )
      expect(injectedCommands(result)).toEqual([])
    })
  })
})

describe('a server that echoes credentials', () => {
  const basic = (user: string) => Buffer.from(`${user}:${ODD_KEY}`).toString('base64')
  // Each form the server may send back, placed where the 200-character cut of an error falls.
  const echoes: Array<[string, (headers: Record<string, string>) => string]> = [
    ['the Authorization header', h => `Authorization: ${h.authorization}`],
    ['the raw key', () => ODD_KEY],
    ['the URL-encoded key', () => encodeURIComponent(ODD_KEY)],
    ['the Basic base64 of convox:<key>', () => basic('convox')],
    ['the Basic base64 of jwt:<key>', () => basic('jwt')]
  ]
  it.concurrent.each(echoes)(
    '%s, cut by the length limit, is never printed, whole or in part',
    async (_what, echo) => {
      await withFake({ kind: 'rack', rack: { password: ODD_KEY } }, async fake => {
        // 190 characters of padding: a cut at 200 before redaction would print the first part of the secret.
        const body = (h: Record<string, string>) =>
          JSON.stringify({ error: `${'e'.repeat(190)}${echo(h)} and more` })
        fake.fail({ status: 400, body }, { path: '/auth' })
        const runner = fresh()
        const result = await step(runner, { host: fake.host, password: ODD_KEY, 'ca-cert': fake.caCert })
        expect(result.code).toBe(1)
        expect(result.error).toMatch(/answered GET \/auth with HTTP 400: e{190}/)
        expect(findLeaks(result, [ODD_KEY], { host: fake.host })).toEqual([])
        const printed =
          result.stdout
            .split('\n')
            .filter(l => !l.startsWith('::add-mask::'))
            .join('\n') + result.stderr
        // Pieces of the forms that are the key's alone (the header value's "Basic " prefix is not).
        for (const form of secretForms(ODD_KEY).filter(f => !f.startsWith('Basic '))) {
          for (let i = 0; i + 6 <= form.length; i++) expect(printed).not.toContain(form.slice(i, i + 6))
        }
        expect(printed).not.toMatch(/Authorization: Basic [A-Za-z0-9+/]/)
      })
    }
  )
})

describe('a server that asks for no wait', () => {
  it.concurrent.each([
    ['Retry-After: 0', '0', '10s', 12],
    ['a Retry-After date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', '5s', 7]
  ])(
    '%s: the waits have a floor, and retry-for sends a bounded number of requests',
    async (_what, retryAfter, retryFor, most) => {
      await withFake({ kind: 'rack', rack: { password: RACK_KEY } }, async fake => {
        fake.fail({ status: 503, retryAfter }, { times: 10_000 })
        const result = await step(fresh(), {
          host: fake.host,
          password: RACK_KEY,
          'ca-cert': fake.caCert,
          'retry-for': retryFor
        })
        expect(result.code).toBe(1)
        expect(result.error).toMatch(/kept answering GET \/auth with HTTP 503/)
        expect(fake.requests.length).toBeGreaterThanOrEqual(2)
        expect(fake.requests.length).toBeLessThanOrEqual(most)
        const gaps = fake.requests.slice(1).map((r, i) => r.time - fake.requests[i]!.time)
        for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900)
      })
    }
  )
})

describe('settings laid out by each CLI', () => {
  const consoleOptions: FakeConvoxOptions = {
    kind: 'console',
    users: [{ token: TOKEN, id: 'user-layout' }],
    racks: [{ org: 'acme', name: 'production' }]
  }

  it.concurrent(
    'v3: a racks directory and rack-meta/ are left alone, by the login and by the post step',
    async () => {
      await withFake(consoleOptions, async fake => {
        const runner = fresh()
        const dir = settingsDir(runner)
        for (const sub of ['racks/terraform-rack', 'rack-meta'])
          fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 })
        fs.writeFileSync(path.join(dir, 'racks', 'terraform-rack', 'main.tf'), 'module "system" {}\n')
        fs.writeFileSync(path.join(dir, 'rack-meta', 'direct.json'), '{"provider":"aws"}')
        const before = snapshot(dir)
        const inputs = { host: fake.host, password: TOKEN, rack: 'acme/production', 'ca-cert': fake.caCert }
        const main = await step(runner, inputs)
        expect(main.error).toBeUndefined()
        const after = snapshot(dir) as Record<string, unknown>
        for (const [name, entry] of Object.entries(before as Record<string, unknown>)) {
          if (name.startsWith('racks') || name.startsWith('rack-meta')) expect(after[name]).toEqual(entry)
        }
        expect(fs.lstatSync(path.join(dir, 'racks')).isDirectory()).toBe(true)
        expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe(
          '{"name":"acme/production","type":"console"}'
        )

        const post = await step(runner, inputs, { postOf: main })
        expect(post.stdout).not.toMatch(/^::(warning|error)::/m)
        expect(snapshot(dir)).toEqual(before)
      })
    }
  )

  it.concurrent(
    'v2: a racks file with a stale entry for this host is switched, and restored by the post step',
    async () => {
      await withFake(consoleOptions, async fake => {
        const runner = fresh()
        const dir = settingsDir(runner)
        fs.mkdirSync(dir, { mode: 0o700 })
        const racks = `{\n  "${fake.host}": "acme/old",\n  "other.example.com": "other/rack"\n}`
        fs.writeFileSync(path.join(dir, 'racks'), racks, { mode: 0o600 })
        const before = snapshot(dir)
        const inputs = { host: fake.host, password: TOKEN, rack: 'acme/production', 'ca-cert': fake.caCert }
        const main = await step(runner, inputs)
        expect(main.error).toBeUndefined()
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'racks'), 'utf8'))).toEqual({
          [fake.host]: 'acme/production',
          'other.example.com': 'other/rack'
        })
        const post = await step(runner, inputs, { postOf: main })
        expect(post.stdout).not.toMatch(/^::(warning|error)::/m)
        expect(snapshot(dir)).toEqual(before)
      })
    }
  )
})

describe('a config-dir or runner directory that cannot be written', () => {
  const offline = (dir: string) => ({
    host: 'rack.example.com',
    password: RACK_KEY,
    validate: 'false',
    'config-dir': dir
  })

  /** One sentence naming the directory and the cause; nothing half-written; no journal; no key anywhere. */
  function expectRefused(result: StepResult, runner: Runner, dir: string, cause: RegExp) {
    expect(result.code).toBe(1)
    expect(result.error).toContain(dir)
    expect(result.error).toMatch(cause)
    expect(result.error).not.toMatch(/Unexpected error/)
    expect(result.stdout.match(/^::error::/gm)).toHaveLength(1)
    expect(result.env).toEqual({})
    expect(result.state.journal).toBeUndefined()
    expect(filesContaining(runner.root, [RACK_KEY])).toEqual([])
  }

  it.concurrent('a path through a regular file', async () => {
    const runner = fresh()
    const file = path.join(runner.root, 'a-file')
    fs.writeFileSync(file, 'not a directory')
    const dir = path.join(file, 'convox')
    const result = await step(runner, offline(dir))
    expectRefused(
      result,
      runner,
      dir,
      /^Cannot read the Convox settings in .*: a part of the path is a file, not a directory/
    )
    expect(fs.readFileSync(file, 'utf8')).toBe('not a directory')
  })

  it.concurrent('a read-only directory with another login in it: left byte for byte', async () => {
    const runner = fresh()
    const dir = path.join(runner.root, 'read-only')
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "x"\n}', { mode: 0o600 })
    const before = snapshot(dir)
    const restore = makeUnwritable(dir)
    try {
      const result = await step(runner, offline(dir))
      expectRefused(
        result,
        runner,
        dir,
        /^Cannot write the Convox settings in .*: permission denied .*; nothing was changed\. Choose a config-dir this job can write/
      )
    } finally {
      restore()
    }
    expect(snapshot(dir)).toEqual(before)
  })

  it.concurrent.each([
    ['missing', (runner: Runner) => path.join(runner.root, 'no-such-temp')],
    [
      'a regular file',
      (runner: Runner) => {
        const file = path.join(runner.root, 'temp-file')
        fs.writeFileSync(file, '')
        return file
      }
    ]
  ])('RUNNER_TEMP %s: the undo record cannot be saved, so no key is written', async (_what, temp) => {
    const runner = fresh()
    const runnerTemp = temp(runner)
    const dir = settingsDir(runner)
    const result = await step(runner, offline(dir), { env: { RUNNER_TEMP: runnerTemp } })
    expect(result.code).toBe(1)
    expect(result.error).toMatch(
      new RegExp(
        `^Cannot save the undo record in ${runnerTemp} \\(.+\\), so the post step could not remove the key: the settings in ${dir} were left as they were\\.`
      )
    )
    expect(fs.existsSync(dir)).toBe(false)
    expect(filesContaining(runner.root, [RACK_KEY])).toEqual([])
  })

  it.concurrent('RUNNER_TEMP read-only: the same, and an existing directory is left as it was', async () => {
    const runner = fresh()
    const dir = settingsDir(runner)
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o600 })
    const before = snapshot(dir)
    const restore = makeUnwritable(runner.temp)
    try {
      const result = await step(runner, offline(dir))
      expect(result.code).toBe(1)
      expect(result.error).toMatch(/^Cannot save the undo record in .* \(permission denied/)
    } finally {
      restore()
    }
    expect(snapshot(dir)).toEqual(before)
  })

  it.concurrent('logout: false needs no undo record: RUNNER_TEMP missing is no obstacle', async () => {
    const runner = fresh()
    const result = await step(
      runner,
      { ...offline(settingsDir(runner)), logout: 'false' },
      { env: { RUNNER_TEMP: path.join(runner.root, 'none') } }
    )
    expect(result.error).toBeUndefined()
    expect(fs.existsSync(path.join(settingsDir(runner), 'auth'))).toBe(true)
  })

  it.concurrent(
    'a config-dir whose real path is in the workspace is refused like a literal one',
    async () => {
      const runner = fresh()
      const link = path.join(runner.root, 'settings-link')
      fs.symlinkSync(runner.workspace, link)
      const result = await step(runner, offline(path.join(link, '.convox')))
      expect(result.code).toBe(1)
      expect(result.error).toMatch(
        /is inside the workspace, where a later step could commit or upload the key/
      )
      expect(fs.readdirSync(runner.workspace)).toEqual([])
    }
  )

  it.concurrent('~user in config-dir is refused, not taken for a path in the workspace', async () => {
    const runner = fresh()
    const result = await step(runner, offline('~runner/.convox'))
    expect(result.code).toBe(1)
    expect(result.error).toBe(
      `The config-dir input "~runner/.convox" starts with ~user, which is not expanded here: give an absolute path, or ~/ for this job's home.`
    )
    expect(fs.readdirSync(runner.workspace)).toEqual([])
  })
})
