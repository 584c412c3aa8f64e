import { describe, expect, it } from '@jest/globals'
import { verifyRackToken } from '../../../test-support/rack-tokens.ts'
import { REVOCATION_WINDOWS, simulateRevocation } from '../../../test-support/revocation-windows.ts'

/**
 * The revocation against the v3 rack model on a virtual clock (a signing key per API process, a
 * rolling restart, each request on a process at random), over many seeds: the targets hold on
 * every seed here; `npm run bench` measures them over more (docs/tokens.md).
 */

const tokenOf = (url: string) => decodeURIComponent(/^https:\/\/jwt:([^@]+)@/.exec(url)![1]!)

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
        const final = tokenOf(m.writes.at(-1)!.value)
        expect(verifyRackToken(m.model.signingKey, final, m.model.restartEndsAt()! + 1)).toHaveProperty(
          'claims'
        )
        notices.push(m.noticeMs)
      }
      notices.sort((a, b) => a - b)
      expect(notices[50]!).toBeLessThanOrEqual(5000)
      expect(notices.at(-1)!).toBeLessThanOrEqual(10_000)
    }
  )
})
