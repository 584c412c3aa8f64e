/**
 * Who a request is made for, as racks since 3.24.6 record it in their audit log: the
 * `X-Convox-Actor` header, which the v3 CLI sends from `CONVOX_ACTOR`. Without it every CI deploy
 * made with the rack password is logged as `rack-password`.
 */

/** The rack's cap (pkg/audit/sanitize.go), in code points. */
export const ACTOR_MAX_LENGTH = 256

/** The run that asks, as a CI names it; any part may be missing. */
export interface RunContext {
  /** `owner/name`. */
  repository?: string
  workflow?: string
  runId?: string
  runAttempt?: string
  /** The user who triggered the run. */
  user?: string
}

export interface ActorChoice {
  /** The `actor` input: empty derives it, `none` turns it off. */
  input: string
  /** `CONVOX_ACTOR` as the job has it before this step. */
  jobActor?: string
  run: RunContext
}

export interface Actor {
  /** Sent with every request to Convox; empty sends no header. */
  value: string
  /** Whether later steps get it as CONVOX_ACTOR: not over one the job set itself. */
  export: boolean
}

// Controls (C0, DEL, C1), line and paragraph separators, the byte-order mark, zero-width and
// bidirectional marks: what the rack drops, so a log reader cannot be shown text that is not there.
const DROPPED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\u200b-\u200f\u202a-\u202e\u2066-\u2069]/gu

/** Cleans an actor as the rack does; white space alone is no actor. */
export function cleanActor(raw: string): string {
  const kept = [...raw.trim().replace(DROPPED, '')].slice(0, ACTOR_MAX_LENGTH).join('')
  return kept.trim() === '' ? '' : kept
}

/** Names the run: repository, workflow, run id and attempt, and who triggered it. */
export function deriveActor(run: RunContext): string {
  const parts = [
    run.repository,
    run.workflow && `workflow "${run.workflow}"`,
    run.runId && `run ${run.runId}${run.runAttempt ? ` attempt ${run.runAttempt}` : ''}`,
    run.user && `by ${run.user}`
  ].filter(Boolean)
  return cleanActor(parts.join(', '))
}

/**
 * The `actor` input wins, then a `CONVOX_ACTOR` the job set (so this step's requests and the later
 * CLI commands are attributed alike), then the run's own description.
 */
export function resolveActor(choice: ActorChoice): Actor {
  if (choice.input === 'none') return { value: '', export: false }
  const jobActor = cleanActor(choice.jobActor ?? '')
  const value = cleanActor(choice.input) || jobActor || deriveActor(choice.run)
  return { value, export: value !== '' && jobActor === '' }
}

/**
 * The header's value. HTTP header values are bytes, and Node's HTTP client refuses characters
 * outside Latin-1: anything outside printable ASCII becomes `?` on the wire. CONVOX_ACTOR and the
 * output keep the actor whole; the v3 CLI sends it as UTF-8.
 */
export function actorHeader(actor: string): string {
  return actor.replace(/[^\x20-\x7e]/gu, '?')
}
