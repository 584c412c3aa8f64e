import { afterAll, describe, expect, it } from '@jest/globals'
import { startFakeGitHub } from '../../../test-support/fake-github.ts'
import type { FakeV3Rack } from '../../../test-support/fake-v3-rack.ts'
import { startFakeV3Rack } from '../../../test-support/fake-v3-rack.ts'
import { claimsOf, tokenOf, verifyRackToken } from '../../../test-support/rack-tokens.ts'
import { findLeaks, runnerPool, runStep } from '../../../test-support/run-action.ts'

/**
 * The action's token store: renewal into a GitHub Actions secret by a write token of its own
 * successor, and revocation over a real-time rolling restart with the rerun's evidence passed
 * back in stored-rack-url, against loopback fakes of a v3 rack and of GitHub's secrets API.
 */

// Made-up keys.
const PASSWORD = 'ActionTokenStoreRackPasswordQwErTyUiOpAsDfGhJkLzXcVbNm012345'
const GITHUB_TOKEN = 'github_pat_token_store_0123456789abcdef'
const REPOSITORY = 'acme/app'
const NAME = 'CONVOX_RACK_URL'

const { fresh, removeAll } = runnerPool()
const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  removeAll()
  for (const close of closers) await close()
})

async function fakes(processes = 1, restartMs = 1500) {
  const rack = await startFakeV3Rack({
    password: PASSWORD,
    signingKey: `action-store-${closers.length}`,
    processes,
    restartMs
  })
  const github = await startFakeGitHub({ repository: REPOSITORY, tokens: [GITHUB_TOKEN] })
  closers.push(
    () => rack.close(),
    () => github.close()
  )
  const env = { GITHUB_REPOSITORY: REPOSITORY, GITHUB_API_URL: github.apiUrl }
  return { rack, github, env }
}

const settled = (rack: FakeV3Rack) => (rack.model.restartEndsAt() ?? Date.now()) + 1

describe('token-secret', () => {
  it.concurrent(
    'stores the minted RACK_URL instead of handing it over, and a write token renews itself',
    async () => {
      const { rack, github, env } = await fakes()
      const runner = fresh()
      const first = await runStep(
        runner,
        {
          host: rack.host,
          password: PASSWORD,
          'mint-token': 'write',
          'mint-token-hours': '72',
          'token-secret': NAME,
          'github-token': GITHUB_TOKEN
        },
        { env }
      )
      expect(first.error).toBeUndefined()
      const url1 = github.secrets().get(NAME)!
      const token1 = tokenOf(url1)
      expect(url1).toBe(`https://jwt:${token1}@${rack.host}`)
      // For the jobs that read the secret, not for this job's later steps.
      expect(first.env).toEqual({})
      expect(first.outputs['rack-url']).toBe(url1)
      expect(first.summary).toContain(
        `minted by this step and stored in repository secret ${NAME} of ${REPOSITORY}`
      )
      expect(github.ops.filter(op => op.op === 'put' && op.name === NAME)).toHaveLength(1)
      expect(findLeaks(first, [PASSWORD, GITHUB_TOKEN], { host: rack.host, made: [token1] })).toEqual([])

      const second = await runStep(
        fresh(),
        {
          'rack-url': url1,
          'mint-token': 'write',
          'mint-token-hours': '71',
          'token-secret': NAME,
          'github-token': GITHUB_TOKEN
        },
        { env }
      )
      expect(second.error).toBeUndefined()
      const token2 = tokenOf(github.secrets().get(NAME)!)
      expect(token2).not.toBe(token1)
      expect(verifyRackToken(rack.model.signingKey, token2, Date.now())).toHaveProperty('claims')
      expect(rack.requests.filter(r => r.path === '/system/jwt/token').map(r => r.user)).toEqual([
        'convox',
        'jwt'
      ])
    }
  )

  it.concurrent(
    'revokes: rotates once, rides out the restart, stores a token of the new key; a rerun rotates no more',
    async () => {
      const { rack, github, env } = await fakes(2, 1500)
      const before = rack.model.mint('rw', 24)
      const inputs = {
        host: rack.host,
        password: PASSWORD,
        'mint-token': 'write',
        'mint-token-hours': '24',
        'token-secret': NAME,
        'github-token': GITHUB_TOKEN,
        'revoke-tokens': 'true',
        'keyroll-timeout': '2m'
      }
      const result = await runStep(fresh(), inputs, { env, timeoutMs: 120_000 })
      expect(result.error).toBeUndefined()
      expect(rack.model.rotations).toHaveLength(1)
      const stored = github.secrets().get(NAME)!
      // The probe before the rotation, an interim token as soon as one minted on the restarted API
      // is accepted (another if part of the API refuses it), the final token once the restart is over.
      expect(github.ops.filter(op => op.op === 'put' && op.name === NAME).length).toBeGreaterThanOrEqual(3)
      expect(claimsOf(tokenOf(stored)).expiresAt * 1000 - Date.now()).toBeGreaterThan(23 * 3600_000)
      expect(verifyRackToken(rack.model.signingKey, tokenOf(stored), settled(rack))).toHaveProperty('claims')
      expect(verifyRackToken(rack.model.signingKey, before, settled(rack))).toEqual({
        reason: 'signature is invalid'
      })
      expect(findLeaks(result, [PASSWORD, GITHUB_TOKEN], { host: rack.host })).toEqual([])

      // The workflow passes the secret back: the token it holds is this run's, so nothing is rotated.
      const rerun = await runStep(
        fresh(),
        { ...inputs, 'stored-rack-url': stored },
        { env, timeoutMs: 120_000 }
      )
      expect(rerun.error).toBeUndefined()
      expect(rerun.stdout).toContain('nothing to do')
      expect(rack.model.rotations).toHaveLength(1)
    },
    150_000
  )

  it.concurrent('refuses revoke-tokens without token-secret, before any request', async () => {
    const { rack, env } = await fakes()
    const result = await runStep(
      fresh(),
      { host: rack.host, password: PASSWORD, 'mint-token': 'write', 'revoke-tokens': 'true' },
      { env }
    )
    expect(result.error).toBe(
      'revoke-tokens: true makes every token in use stop working, so the new one needs a store: name one with token-secret.'
    )
    expect(rack.requests).toEqual([])
  })
})
