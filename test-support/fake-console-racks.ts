import { generateKeyPairSync } from 'node:crypto'
import type {
  FakeAnswer,
  FakeOutcome,
  FakeRack,
  FakeRequest,
  WindowMode,
  WindowPhase
} from './fake-convox.ts'

/**
 * What Console and a rack do for the rotations of issue 18 (docs/convox.md, sections 4 and 7): a
 * Console rack record (`state`, `status`, `version`, `parameters`) and its update
 * (`PUT /racks/<org>/<rack>` with `params`, `version`, `force`), and `POST /instances/keyroll` on a
 * v2 rack (a CloudFormation update) or a v3 one (a key pair answer, applied later through
 * `key_pair_name`). Time is read from the clock at each request, so the same model runs behind
 * HTTPS in real time and in memory on a virtual clock (simulateConsole).
 */

export interface ConsoleRackOptions {
  /** The record has a `state` (Console manages the rack's Terraform): parameters go through Console. */
  state?: boolean
  /** How the proxied rack answers while an update runs; status `updating` meanwhile. */
  updateWindow?: WindowPhase[]
  /** How long a v2 instance keyroll's CloudFormation update lasts (default 1 s). */
  instancesMs?: number
  /** Answers POST /instances/keyroll with 501, as a v3 provider without instance keys. */
  noInstanceKeys?: boolean
  /** The next PUT /racks/<org>/<rack> is refused with this answer. */
  putError?: { status: number; body: string }
  /** Rack status when the fake starts (`updating` to test a rack already in an update). */
  updatingForMs?: number
}

export interface ConsoleRackRecord {
  /** Every PUT /racks/<org>/<rack> Console applied, with its decoded params. */
  updates: Array<{ at: number; params: Record<string, string>; version: string; force: string }>
  /** When the last update window ends (status `running` and the rack answering again). */
  liveAt?: number
  /** Console's copy of the rack password, changed by rotate_api_password. */
  password: string
  passwordRotations: number
  /** Key pairs POST /instances/keyroll created (v3), by name, with their private keys. */
  keyPairs: Map<string, string>
  /** The key pair the rack's instances use. */
  keyPairName?: string
  instanceKeyrolls: number
}

export interface ConsoleRackModel {
  record: ConsoleRackRecord
  /** GET or PUT /racks/<org>/<rack>; undefined for another path. */
  handleRecord(request: FakeRequest): FakeAnswer | undefined
  /** A request Console proxies to the rack: undefined to let the rack model answer it. */
  handleProxied(request: FakeRequest): FakeOutcome | undefined
  /** The rack's status now, with any update window that has ended settled. */
  status(): string
}

export interface ModelClock {
  now: () => number
  random: () => number
}

export function consoleRackModel(
  rack: FakeRack,
  options: ConsoleRackOptions,
  clock: ModelClock
): ConsoleRackModel {
  const record: ConsoleRackRecord = {
    updates: [],
    password: rack.password,
    passwordRotations: 0,
    keyPairs: new Map(),
    instanceKeyrolls: 0
  }
  let windowStart: number | undefined
  let windowEnd: number | undefined
  let phases: WindowPhase[] = []
  let onEnd: (() => void) | undefined
  let putError = options.putError

  function begin(ms: number, windowPhases: WindowPhase[], then?: () => void): void {
    windowStart = clock.now()
    windowEnd = windowStart + ms
    phases = windowPhases
    onEnd = then
    record.liveAt = windowEnd
    rack.status = 'updating'
  }

  function status(): string {
    if (windowEnd !== undefined && clock.now() >= windowEnd && rack.status === 'updating') {
      rack.status = 'running'
      onEnd?.()
      onEnd = undefined
    }
    return rack.status
  }

  if (options.updatingForMs) begin(options.updatingForMs, options.updateWindow ?? [])

  function mode(): WindowMode | 'steady' {
    if (status() !== 'updating' || windowStart === undefined) return 'steady'
    let t = clock.now() - windowStart
    for (const phase of phases) {
      if (t < phase.ms) return phase.mode
      t -= phase.ms
    }
    return 'steady'
  }

  const windowMs = () => (options.updateWindow ?? []).reduce((sum, p) => sum + p.ms, 0) || 1000

  function recordBody(): unknown {
    return {
      name: rack.name,
      organization: { name: rack.org },
      status: status(),
      version: rack.version,
      provider: rack.provider,
      parameters: {
        node_type: 't3.medium',
        ...(record.keyPairName && { key_pair_name: record.keyPairName })
      },
      ...(options.state && { state: 'H4sIAAAAAAAA/terraform-state' })
    }
  }

  function update(body: string): FakeAnswer {
    if (putError) {
      const answer = {
        status: putError.status,
        headers: { 'Content-Type': 'application/json' },
        body: putError.body
      }
      putError = undefined
      return answer
    }
    if (!options.state) return json(400, { error: 'rack is not managed by console' })
    const form = new URLSearchParams(body)
    let params: Record<string, string>
    try {
      params = JSON.parse(form.get('params') ?? '') as Record<string, string>
    } catch {
      return json(400, { error: 'invalid params' })
    }
    const version = form.get('version') ?? ''
    if (version !== rack.version) return json(400, { error: `version mismatch: rack is at ${rack.version}` })
    if (status() !== 'running') return json(409, { error: 'rack is currently updating' })
    record.updates.push({ at: clock.now(), params, version, force: form.get('force') ?? '' })
    const rotate = params.rotate_api_password === 'true'
    const keyPair = params.key_pair_name
    begin(windowMs(), options.updateWindow ?? [], () => {
      if (rotate) {
        record.password = `rotated-${record.passwordRotations + 1}-${Math.floor(clock.random() * 1e9)}`
        rack.password = record.password
        record.passwordRotations++
      }
      if (keyPair) record.keyPairName = keyPair
    })
    return json(200, recordBody())
  }

  function instancesKeyroll(): FakeAnswer {
    if (rack.version.startsWith('3.')) {
      if (options.noInstanceKeys || rack.provider !== 'aws') {
        return text(501, 'not implemented\n')
      }
      const name = `${rack.name}-keypair-${Math.floor(clock.now() / 1000)}`
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 1024,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' }
      })
      record.keyPairs.set(name, privateKey)
      record.instanceKeyrolls++
      return json(200, { name, 'private-key': privateKey })
    }
    if (status() !== 'running') {
      return json(400, { error: `Stack ${rack.name} is in UPDATE_IN_PROGRESS state and can not be updated.` })
    }
    record.instanceKeyrolls++
    begin(options.instancesMs ?? 1000, options.updateWindow ?? [], () => {
      record.keyPairName = `${rack.name}-key-${record.instanceKeyrolls}`
    })
    return text(200, '')
  }

  return {
    record,
    status,
    handleRecord(request) {
      if (request.method === 'GET') return json(200, recordBody())
      if (request.method === 'PUT') return update(request.body)
      return undefined
    },
    handleProxied(request) {
      if (request.method === 'POST' && request.path === '/instances/keyroll') return instancesKeyroll()
      const current = mode()
      if (current === 'reset') return { reset: true }
      if (current === '502' || current === '503') {
        return {
          status: Number(current),
          headers: { 'Content-Type': 'text/html' },
          body: `<html>${current}</html>`
        }
      }
      // The API pods restart on the new password while Console still sends the old one, or the reverse.
      if (current === 'reject' || (current === 'flap' && clock.random() < 0.5)) {
        return text(401, 'invalid authentication\n')
      }
      return undefined
    }
  }
}

function text(status: number, body: string): FakeAnswer {
  return { status, headers: { 'Content-Type': 'text/plain' }, body }
}

function json(status: number, value: unknown): FakeAnswer {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) }
}
