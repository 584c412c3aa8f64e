import { describe, expect, it } from '@jest/globals'
import type { RotationKind, RotationMeasure } from '../../../test-support/rotation-windows.ts'
import {
  ROTATION_WINDOWS,
  rotationRequestsPerMinute,
  simulateRotation
} from '../../../test-support/rotation-windows.ts'

/**
 * The rotation windows' targets (issue 18), on a virtual clock against the fake Console's model:
 * notice within 5 s median and 10 s worst, at most 20 requests a minute, for every window and
 * every seed.
 */
const KINDS: RotationKind[] = ['console password', 'v3 instance key pair', 'v2 instance keys']
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

describe.each(KINDS)('%s', kind => {
  it.each(ROTATION_WINDOWS)(
    'window %s: notice and request rate within the targets',
    async (_name, phases) => {
      const runs: RotationMeasure[] = []
      for (let seed = 1; seed <= 60; seed++) runs.push(await simulateRotation(kind, phases, seed))
      const notice = runs.map(r => r.noticeMs)
      expect(median(notice)).toBeLessThanOrEqual(5000)
      expect(Math.max(...notice)).toBeLessThanOrEqual(10_000)
      expect(Math.max(...runs.map(rotationRequestsPerMinute))).toBeLessThanOrEqual(20)
    }
  )
})
