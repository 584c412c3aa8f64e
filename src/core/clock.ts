/**
 * Time, sleep and randomness behind one seam, so retry and keyroll logic can be tested with a
 * virtual clock while production uses the real one.
 */
export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
  /** Uniform in [0, 1): only for backoff jitter, never for keys. */
  random(): number
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: ms => new Promise(resolve => setTimeout(resolve, ms)),
  random: () => Math.random()
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 100) / 10
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  const rest = Math.round(s - m * 60)
  return rest ? `${m}m${rest}s` : `${m}m`
}
