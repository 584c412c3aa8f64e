import type { ApiRequest, ApiResponse } from '../api.ts'
import type { Clock } from '../clock.ts'
import { formatDuration } from '../clock.ts'
import type { Log } from '../log.ts'
import type { Naming } from '../naming.ts'
import type { SecretStore } from '../stores/store.ts'
import type { KeyrollTiming } from './timing.ts'

/** The part of ConvoxApi a keyroll uses; an interface so the schedule can run on a virtual clock. */
export interface KeyrollApi {
  readonly host: string
  send(request: ApiRequest): Promise<ApiResponse>
  withPassword(password: string): KeyrollApi
}

/** What one keyroll carries through its steps; made once by runKeyroll. */
export interface Context {
  /** Authenticated with the current key. */
  api: KeyrollApi
  clock: Clock
  log: Log
  /** How the front end names its options, for the sentences in messages.ts. */
  naming: Naming
  store?: SecretStore
  timing: KeyrollTiming
  timeoutMs: number
  startedAt: number
  /** Counted by probe.ts and put.ts, for the result. */
  requests: number
  polls: number
  /** Every form of every key in play, removed from server text before it is quoted (server-text.ts). */
  forms: readonly string[]
  /** Removes every form of every key from text a server or the store sent. */
  scrub(text: string): string
}

export function elapsed(ctx: Context): string {
  return formatDuration(ctx.clock.now() - ctx.startedAt)
}

/** Sleeps so that the next poll starts `delay` after `pollStart`, but never past the deadline. */
export async function sleepUntilNextPoll(
  ctx: Context,
  pollStart: number,
  delay: number,
  deadline: number
): Promise<void> {
  const wake = Math.min(pollStart + delay, deadline)
  const ms = wake - ctx.clock.now()
  if (ms > 0) await ctx.clock.sleep(ms)
}
