import { describe, expect, it } from '@jest/globals'
import { tokenOf, verifyRackToken } from '../../../test-support/rack-tokens.ts'
import type { CrashPoint } from '../../../test-support/revocation-windows.ts'
import {
  maxInAnyMinute,
  REVOCATION_WINDOWS,
  simulateRerun,
  simulateRevocation,
  survives
} from '../../../test-support/revocation-windows.ts'

/**
 * The revocation against the v3 rack model on a virtual clock (a signing key per API process, a
 * rolling restart, each request on a process at random), over many seeds: the targets hold on
 * every seed here; `npm run bench` measures them over more (docs/tokens.md).
 */

describe('revokeTokens on a rolling restart', () => {
  it.each(REVOCATION_WINDOWS)(
    '%o: one rotation, the probe stored first, at most 20 requests a minute',
    async c => {
      for (let seed = 1; seed <= 40; seed++) {
        const m = await simulateRevocation(seed, c)
        expect(m.model.rotations).toHaveLength(1)
        expect(m.result.rotated).toBe(true)
        // The probe first; then the new token, replaced when the watch after storing sees it refused.
        expect(m.writes.length).toBeGreaterThanOrEqual(2)
        const probe = tokenOf(m.writes[0]!.value)
        const final = tokenOf(m.writes.at(-1)!.value)
        // Minted before the rotation: dead once the restart is over.
        expect(verifyRackToken(m.model.signingKey, probe, m.model.restartEndsAt()! + 1)).toEqual({
          reason: 'signature is invalid'
        })
        expect(final).not.toBe(probe)
        expect(m.maxPerMinute).toBeLessThanOrEqual(20)
      }
    }
  )

  it.each(REVOCATION_WINDOWS)(
    '%o: stores a token of the new key within 5 s median and 10 s worst of the restart ending',
    async c => {
      const notices: number[] = []
      for (let seed = 1; seed <= 100; seed++) {
        const m = await simulateRevocation(seed, c)
        expect(survives(m.model, m.writes.at(-1)!.value)).toBe(true)
        notices.push(m.noticeMs)
      }
      notices.sort((a, b) => a - b)
      expect(notices[50]!).toBeLessThanOrEqual(5000)
      expect(notices.at(-1)!).toBeLessThanOrEqual(10_000)
    }
  )
})

describe('a revocation killed at any point, then run again with what the store holds', () => {
  const points: Array<[string, CrashPoint]> = [
    ['after the probe is stored, before the rotation is sent', { after: 'write', nth: 1 }],
    ['just after the rotation, before any process restarted', { after: 'rotate' }],
    ...[2, 3, 4, 5, 6].map(
      nth => [`after store write ${nth}`, { after: 'write', nth }] as [string, CrashPoint]
    )
  ]
  const delays = [0, 20_000, 3 * 60_000, 40 * 60_000]

  it.each(REVOCATION_WINDOWS)(
    '%o: one rotation in all, and the store ends holding a token that survives',
    async c => {
      for (const [point, crash] of points) {
        for (const delay of delays) {
          for (let seed = 1; seed <= 12; seed++) {
            const m = await simulateRerun(seed, c, crash, delay)
            const what = `${point}, rerun ${delay / 1000} s later, seed ${seed}`
            expect([what, m.model.rotations.length]).toEqual([what, 1])
            expect([what, survives(m.model, m.writes.at(-1)!.value)]).toEqual([what, true])
            expect([what, m.result.credential.expiresAt.getTime() - m.rerunAt > 5 * 3600_000]).toEqual([
              what,
              true
            ])
            const rerun = m.requests.filter(r => r.time >= m.rerunAt).map(r => r.time)
            expect([what, maxInAnyMinute(rerun) <= 20]).toEqual([what, true])
          }
        }
      }
    }
  )

  it('a run that finished is left alone by a rerun within the hour: no request but the questions', async () => {
    const m = await simulateRerun(1, REVOCATION_WINDOWS[1]!, { after: 'write', nth: 99 }, 10 * 60_000)
    expect(m.crashed).toBe(false)
    const rerun = m.requests.filter(r => r.time >= m.rerunAt)
    expect(rerun.map(r => `${r.method} ${r.path}`)).toEqual(Array(8).fill('GET /auth'))
    expect(m.result.rotated).toBe(false)
  })

  it('killed before the rotation was sent, the rerun rotates after watching for a first restart', async () => {
    const m = await simulateRerun(3, REVOCATION_WINDOWS[2]!, { after: 'write', nth: 1 }, 0)
    expect(m.result.rotated).toBe(true)
    expect(m.model.rotations[0]! - m.rerunAt).toBeGreaterThanOrEqual(3 * 60_000)
    expect(m.model.rotations[0]! - m.rerunAt).toBeLessThan(3 * 60_000 + 10_000)
  })

  it('killed in the restart after an interim token was stored, the rerun settles before finishing', async () => {
    const m = await simulateRerun(5, REVOCATION_WINDOWS[4]!, { after: 'write', nth: 2 }, 0)
    expect(m.crashed).toBe(true)
    expect(m.result.rotated).toBe(false)
    // It waits for answers that agree for 3 minutes, then mints, verifies and stores the final token.
    expect(m.rerunMs).toBeGreaterThanOrEqual(3 * 60_000)
    expect(m.rerunMs).toBeLessThan(m.model.restartEndsAt()! - m.rerunAt + 5 * 60_000)
  })
})

describe('a restart longer than keyroll-timeout', () => {
  it('fails in one sentence saying what the store holds and to run again; a rerun with more time finishes', async () => {
    // Six processes of a minute each against two minutes.
    const slow = { processes: 6, restartMs: 60_000 }
    const rerun = await simulateRerun(1, slow, { after: 'failure' }, 0, 2 * 60_000, 10 * 60_000)
    expect(rerun.crashed).toBe(true)
    expect(rerun.model.rotations).toHaveLength(1)
    expect(survives(rerun.model, rerun.writes.at(-1)!.value)).toBe(true)
    expect(rerun.result.credential.expiresAt.getTime() - rerun.rerunAt).toBeGreaterThan(5 * 3600_000)
    await expect(simulateRevocation(1, slow, 2 * 60_000)).rejects.toThrow(
      /^The rack's API was still restarting after 2m \(keyroll-timeout\): the store holds a token minted on the restarted API, which deploy jobs can use until .+, but not yet the one asked for; run again with the same inputs and the stored value: it will not rotate again\.$/
    )
  })
})
