import type { Clock } from '../src/core/clock.ts'

/** Deterministic [0, 1) (mulberry32), so a failing schedule can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A clock whose sleeps return at once and move time on: a 30-minute keyroll runs in milliseconds. */
export function virtualClock(seed: number): Clock {
  let t = 1_700_000_000_000
  return {
    now: () => t,
    sleep: async ms => {
      t += ms
    },
    random: seeded(seed)
  }
}
