import { afterAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { startFakeGitLab } from '../../../test-support/fake-gitlab.ts'
import type { FakeV3Rack } from '../../../test-support/fake-v3-rack.ts'
import { startFakeV3Rack } from '../../../test-support/fake-v3-rack.ts'
import { claimsOf, tokenOf, verifyRackToken } from '../../../test-support/rack-tokens.ts'
import type { Machine } from '../../../test-support/run-cli.ts'
import { CLI, cliLeaks, evalInBash, KEY_LINES, machinePool, runCli } from '../../../test-support/run-cli.ts'
import { testTls } from '../../../test-support/tls.ts'

/**
 * Job tokens stored back, through the convox-login command: renewal by a write token of its own
 * successor (key file, GitLab variable), and revocation riding out a real-time rolling restart of
 * the loopback v3 rack, killed with SIGKILL at each point and run again.
 */

// Made-up keys.
const PASSWORD = 'CliJobTokenRackPasswordQwErTyUiOpAsDfGhJkLzXcVbNm0123456789ab'
const GITLAB_TOKEN = 'glpat-jobtoken-0123456789abcdef'

const machines = machinePool()
const racks: FakeV3Rack[] = []
afterAll(async () => {
  machines.removeAll()
  for (const r of racks) await r.close()
})

async function newRack(processes = 1, restartMs = 2000, holdRotateMs = 0): Promise<FakeV3Rack> {
  const rack = await startFakeV3Rack({
    password: PASSWORD,
    signingKey: `cli-key-${racks.length}`,
    processes,
    restartMs,
    holdRotateMs
  })
  racks.push(rack)
  return rack
}

const settled = (rack: FakeV3Rack) => (rack.model.restartEndsAt() ?? Date.now()) + 1

function login(rack: FakeV3Rack, m: Machine, ...extra: string[]): string[] {
  return [
    'login',
    '--host',
    rack.host,
    '--config-dir',
    path.join(m.root, 'convox'),
    '--format',
    'sh',
    ...extra
  ]
}

describe('--mint-token', () => {
  it.concurrent(
    'hands the shell a minted token alone: no password in what it evals, on stderr or in the settings',
    async () => {
      const rack = await newRack()
      const m = machines.fresh()
      const dir = path.join(m.root, 'convox')
      const result = await runCli(m, login(rack, m, '--mint-token', 'read', '--mint-token-hours', '1'), {
        env: { CONVOX_PASSWORD: PASSWORD }
      })
      expect(result.code).toBe(0)
      const vars = await evalInBash(result.stdout, ['CONVOX_HOST', 'CONVOX_PASSWORD', 'RACK_URL'], {
        CONVOX_PASSWORD: PASSWORD
      })
      // The rack password the job had is cleared, not passed on.
      expect(vars.CONVOX_PASSWORD).toBeUndefined()
      const token = tokenOf(vars.RACK_URL!)
      expect(claimsOf(token).role).toBe('r')
      expect(cliLeaks(result, [PASSWORD], { host: rack.host })).toEqual([])
      expect(cliLeaks(result, [token], { host: rack.host, allowed: KEY_LINES.sh })).toEqual([])
      for (const file of fs.readdirSync(dir))
        expect(fs.readFileSync(path.join(dir, file), 'utf8')).not.toContain(PASSWORD)
    }
  )
})

describe('renewal', () => {
  it.concurrent('stores a minted RACK_URL in a file, and a write token renews itself from it', async () => {
    const rack = await newRack()
    const m = machines.fresh()
    const file = path.join(m.work, 'rack-url')
    const first = await runCli(
      m,
      login(rack, m, '--mint-token', 'write', '--mint-token-hours', '48', '--token-file', file),
      {
        env: { CONVOX_PASSWORD: PASSWORD }
      }
    )
    expect(first.stderr).toContain(`Store the token in the file ${file}`)
    expect(first.code).toBe(0)
    const url1 = fs.readFileSync(file, 'utf8')
    const token1 = tokenOf(url1)
    expect(url1).toBe(`https://jwt:${token1}@${rack.host}`)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    // The token goes to the store, not to later steps.
    expect(first.stdout).not.toContain('RACK_URL')
    expect(first.stdout).not.toContain('CONVOX_PASSWORD')
    expect(cliLeaks(first, [PASSWORD, token1], { host: rack.host })).toEqual([])

    // The scheduled renewal: no password anywhere, only the stored token, which mints its successor.
    const second = await runCli(
      m,
      login(rack, m, '--mint-token', 'write', '--mint-token-hours', '47', '--token-file', file),
      {
        env: { CONVOX_PASSWORD: token1 }
      }
    )
    expect(second.code).toBe(0)
    const token2 = tokenOf(fs.readFileSync(file, 'utf8'))
    expect(token2).not.toBe(token1)
    expect(claimsOf(token2).role).toBe('rw')
    expect(verifyRackToken(rack.model.signingKey, token2, Date.now())).toHaveProperty('claims')
    const mint = rack.requests.filter(r => r.path === '/system/jwt/token')
    expect(mint.map(r => [r.user, r.status])).toEqual([
      ['convox', 200],
      ['jwt', 200]
    ])
    expect(mint[1]!.password).toBe(token1)
    expect(cliLeaks(second, [token1, token2], { host: rack.host })).toEqual([])
  })

  it.concurrent('stores it in a GitLab CI/CD variable', async () => {
    const rack = await newRack()
    const gitlab = await startFakeGitLab({ tokens: [GITLAB_TOKEN] })
    try {
      // As for a keyroll, the variable is made once in the project's settings, masked.
      gitlab.set({ key: 'CONVOX_RACK_URL', value: 'placeholder-until-the-first-run', masked: true })
      const m = machines.fresh()
      const result = await runCli(
        m,
        login(rack, m, '--mint-token', 'read', '--token-gitlab-variable', 'CONVOX_RACK_URL'),
        {
          env: {
            GITLAB_CI: 'true',
            GITLAB_TOKEN,
            CI_PROJECT_ID: gitlab.projectId,
            CI_API_V4_URL: gitlab.apiUrl,
            CONVOX_PASSWORD: PASSWORD
          }
        }
      )
      expect(result.stderr).toContain('Store the token in')
      expect(result.code).toBe(0)
      const stored = gitlab.get('CONVOX_RACK_URL')!.value
      expect(claimsOf(tokenOf(stored)).role).toBe('r')
      expect(cliLeaks(result, [PASSWORD, tokenOf(stored)], { host: rack.host })).toEqual([])
    } finally {
      await gitlab.close()
    }
  })
})

/** Runs the command and kills it with SIGKILL as soon as stderr matches `when`. */
function runUntil(m: Machine, args: string[], env: Record<string, string>, when: RegExp): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: m.work,
    env: { PATH: process.env.PATH ?? '', HOME: m.home, NODE_EXTRA_CA_CERTS: testTls().caPath, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', chunk => {
    stderr += chunk
    if (when.test(stderr)) child.kill('SIGKILL')
  })
  return new Promise(resolve => child.on('close', () => resolve(stderr)))
}

describe('revocation', () => {
  const revoke = (rack: FakeV3Rack, m: Machine, file: string, timeout = '2m') =>
    login(
      rack,
      m,
      '--mint-token',
      'write',
      '--mint-token-hours',
      '24',
      '--token-file',
      file,
      '--revoke-tokens',
      '--timeout',
      timeout
    )

  it.concurrent(
    'rotates, rides out the restart, and stores a token of the new key; the old one is refused',
    async () => {
      const rack = await newRack(2, 1500)
      const m = machines.fresh()
      const file = path.join(m.work, 'rack-url')
      const before = rack.model.mint('rw', 24)
      const result = await runCli(m, revoke(rack, m, file), {
        env: { CONVOX_PASSWORD: PASSWORD },
        timeoutMs: 120_000
      })
      expect(result.stderr).toContain('Rotated the signing key')
      expect(result.code).toBe(0)
      expect(rack.model.rotations).toHaveLength(1)
      const token = tokenOf(fs.readFileSync(file, 'utf8'))
      expect(verifyRackToken(rack.model.signingKey, token, settled(rack))).toHaveProperty('claims')
      expect(verifyRackToken(rack.model.signingKey, before, settled(rack))).toEqual({
        reason: 'signature is invalid'
      })
      expect(cliLeaks(result, [PASSWORD, token], { host: rack.host })).toEqual([])
    },
    150_000
  )

  it.concurrent('refuses with a rack access token, in one sentence, rotating nothing', async () => {
    const rack = await newRack()
    const m = machines.fresh()
    const result = await runCli(m, revoke(rack, m, path.join(m.work, 'rack-url')), {
      env: { CONVOX_PASSWORD: rack.model.mint('rwa', 24) }
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      '--revoke-tokens with a rack access token would rotate the key that signs it and cut this login off mid-way: revoke with the rack password.'
    )
    expect(rack.requests).toEqual([])
  })

  const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))

  /**
   * Each point a run can be killed at, and when the rerun comes (docs/tokens.md, a rerun after a
   * crash). `hold`: the fake rack reads PUT /system/jwt/rotate that long after it arrives, so a kill
   * just after the probe is stored lands before the rotation happened.
   */
  it.concurrent.each([
    {
      point: 'after the probe is stored, before the rotation reached the rack',
      when: /Stored a short-lived token/,
      restartMs: 1500,
      hold: 3000,
      rerunAfter: 'at once',
      // Nothing refuses the probe while the rerun watches it for a first restart: it rotates once.
      said: /watching it for 2m, in which a rotation restarts a first API process, before rotating/,
      rotatedByRerun: true
    },
    {
      point: 'just after the rotation',
      when: /Rotated the signing key/,
      restartMs: 6000,
      hold: 0,
      rerunAfter: 'at once, before the first process restarted',
      said: /watching it for 2m/,
      rotatedByRerun: false
    },
    {
      point: 'just after the rotation',
      when: /Rotated the signing key/,
      restartMs: 1500,
      hold: 0,
      rerunAfter: 'after the first process restarted',
      said: /an earlier run's rotation is under way|the key was rotated; finishing without rotating again/,
      rotatedByRerun: false
    },
    {
      point: 'after a token minted during the restart is stored',
      when: /Stored a token minted on the restarted API/,
      restartMs: 1500,
      hold: 0,
      rerunAfter: 'at once',
      said: /may carry either key: waiting until the rack answers it the same way throughout/,
      rotatedByRerun: false
    },
    {
      point: 'after the final token is stored',
      when: /Stored a write token signed with the new key/,
      restartMs: 1500,
      hold: 0,
      rerunAfter: 'at once',
      said: /nothing to do/,
      rotatedByRerun: false
    }
  ])(
    'killed $point, a rerun $rerunAfter finishes with one rotation in all',
    async ({ when, restartMs, hold, rerunAfter, said, rotatedByRerun }) => {
      const rack = await newRack(2, restartMs, hold)
      const m = machines.fresh()
      const file = path.join(m.work, 'rack-url')
      await runUntil(m, revoke(rack, m, file), { CONVOX_PASSWORD: PASSWORD }, when)
      // A request the killed run sent just before SIGKILL (the rotation, on a loaded machine) may
      // reach the rack a moment later, or, held, be dropped: let that happen first.
      await sleep(hold > 0 ? hold + 500 : 500)
      expect(rack.model.rotations).toHaveLength(rotatedByRerun ? 0 : 1)
      if (rerunAfter === 'after the first process restarted') {
        await sleep(rack.model.rotations[0]! + restartMs + 100 - Date.now())
      }
      const rerun = await runCli(m, revoke(rack, m, file), {
        env: { CONVOX_PASSWORD: PASSWORD },
        timeoutMs: 240_000
      })
      expect(rerun.stderr).toMatch(said)
      expect(rerun.code).toBe(0)
      expect(rack.model.rotations).toHaveLength(1)
      const token = tokenOf(fs.readFileSync(file, 'utf8'))
      expect(verifyRackToken(rack.model.signingKey, token, settled(rack))).toHaveProperty('claims')
      // The token of the asked lifetime, not a probe or an interim token.
      expect(claimsOf(token).expiresAt * 1000 - Date.now()).toBeGreaterThan(23 * 3600_000)
      expect(cliLeaks(rerun, [PASSWORD, token], { host: rack.host })).toEqual([])
    },
    300_000
  )
})
