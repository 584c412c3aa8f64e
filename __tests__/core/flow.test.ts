import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { realClock } from '../../src/core/clock.ts'
import type { FlowOptions, Handover } from '../../src/core/flow.ts'
import { runFlow } from '../../src/core/flow.ts'
import type { Log } from '../../src/core/log.ts'
import { INPUT_NAMING } from '../../src/action/naming.ts'
import { rackUrl } from '../../src/core/secrets.ts'
import type { Journal } from '../../src/core/settings/journal.ts'
import { newJournal } from '../../src/core/settings/journal.ts'
import type { FakeConvox, FakeConvoxOptions } from '../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../test-support/fake-convox.ts'

/**
 * The flow every front end runs (src/core/flow.ts), in process against the loopback fakes, with a
 * front end that records what it is asked to do: what is handed over, when the journal is saved,
 * and that every key form is masked before any line is logged.
 */

const KEY = 'FlowRackKeyAbcdefGhijkl0123456789'
const TOKEN = 'flow-console-token-0123456789'

const fakes: FakeConvox[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(fakes.map(f => f.close()))
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function fake(options: FakeConvoxOptions): Promise<FakeConvox> {
  const started = await startFakeConvox(options)
  fakes.push(started)
  return started
}

interface Recorded {
  events: string[]
  handovers: Handover[]
  journals: Journal[]
  paths: string[]
}

async function flow(
  target: FakeConvox,
  password: string,
  options: Partial<Omit<FlowOptions, 'login'>> & { rack?: string } = {},
  recorded: Recorded = { events: [], handovers: [], journals: [], paths: [] }
): Promise<Recorded & { result: Awaited<ReturnType<typeof runFlow>> }> {
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-flow-'))
  dirs.push(configDir)
  const log: Log = {
    info: message => recorded.events.push(`info ${message}`),
    warning: message => recorded.events.push(`warning ${message}`),
    debug: () => undefined,
    secret: value => recorded.events.push(`secret ${value}`),
    group: (_name, fn) => fn()
  }
  const result = await runFlow(
    {
      login: {
        host: target.host,
        password,
        rack: options.rack ?? '',
        validate: true,
        configDir,
        connection: { caCert: target.caCert, insecure: false },
        retryForMs: 2000
      },
      exportEnv: options.exportEnv ?? true,
      env: options.env ?? {},
      journal: newJournal(configDir),
      clock: realClock
    },
    {
      log,
      naming: INPUT_NAMING,
      publish: handover => recorded.handovers.push(structuredClone(handover)),
      saveJournal: journal => recorded.journals.push(structuredClone(journal)),
      addPath: dir => recorded.paths.push(dir)
    }
  )
  return { ...recorded, result }
}

describe('runFlow', () => {
  it('hands a Rack login over once, with RACK_URL, and saves the journal that undoes it', async () => {
    const rack = await fake({ kind: 'rack', rack: { password: KEY, name: 'production' } })
    const { handovers, journals, events, result } = await flow(rack, KEY)
    expect(handovers).toEqual([
      {
        env: {
          CONVOX_HOST: rack.host,
          CONVOX_PASSWORD: KEY,
          CONVOX_CONFIG: result.login.configDir,
          RACK_URL: rackUrl(rack.host, KEY)
        },
        clear: [],
        outputs: expect.objectContaining({ host: rack.host, kind: 'rack', rack: 'production' })
      }
    ])
    expect(journals).toHaveLength(1)
    expect(journals[0]!.entries.map(e => e.file)).toEqual(expect.arrayContaining(['auth', 'host', 'console']))
    // RACK_URL is a form of the key the adapter cannot know before the host is parsed: the flow masks it first.
    expect(events[0]).toBe(`secret ${rackUrl(rack.host, KEY)}`)
    expect(result.password).toBe(KEY)
  })

  it('clears a CONVOX_RACK an earlier step left when this login is to a Rack', async () => {
    const rack = await fake({ kind: 'rack', rack: { password: KEY } })
    const { handovers, events } = await flow(rack, KEY, {
      env: { CONVOX_RACK: 'acme/staging', PATH: '/bin' }
    })
    expect(handovers[0]!.clear).toEqual(['CONVOX_RACK'])
    expect(events).toContain(
      'info Clearing CONVOX_RACK left by an earlier step: it would send CLI commands to another rack.'
    )
  })

  it('clears a stale RACK_URL after a Console switch, which sets CONVOX_RACK instead', async () => {
    const console = await fake({
      kind: 'console',
      users: [{ token: TOKEN, id: 'user-1' }],
      racks: [{ name: 'production', org: 'acme' }]
    })
    const { handovers } = await flow(console, TOKEN, {
      rack: 'acme/production',
      env: { RACK_URL: 'https://convox:other@rack.example.com' }
    })
    expect(handovers[0]!.env.CONVOX_RACK).toBe('acme/production')
    expect(handovers[0]!.env).not.toHaveProperty('RACK_URL')
    expect(handovers[0]!.clear).toEqual(['RACK_URL'])
  })

  it('with export-env false hands over outputs only, and clears nothing', async () => {
    const rack = await fake({ kind: 'rack', rack: { password: KEY } })
    const { handovers } = await flow(rack, KEY, { exportEnv: false, env: { RACK_URL: 'https://x' } })
    expect(handovers[0]!.env).toEqual({})
    expect(handovers[0]!.clear).toEqual([])
    expect(handovers[0]!.outputs.kind).toBe('rack')
  })

  it('a refused key hands nothing over and saves no journal', async () => {
    const rack = await fake({ kind: 'rack', rack: { password: KEY } })
    const recorded: Recorded = { events: [], handovers: [], journals: [], paths: [] }
    await expect(flow(rack, 'not-the-key-0123456789', {}, recorded)).rejects.toThrow(/rejected the password/)
    expect(recorded.handovers).toEqual([])
    expect(recorded.journals).toEqual([])
  })
})
