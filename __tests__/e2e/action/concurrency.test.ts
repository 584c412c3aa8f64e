import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import type { Runner, StepResult } from '../../../test-support/run-action.ts'
import { filesContaining, runnerPool, runStep } from '../../../test-support/run-action.ts'

/**
 * Jobs that share a HOME (several runner services on one machine, a matrix on a self-hosted
 * runner): the bundled action started several times at once, logging in to different hosts with
 * the same settings directory, then all their post steps at once. Without the settings lock, logins
 * drop each other's auth entries or fail creating the directory (EEXIST), and post steps leave keys.
 */

const JOBS = 6
const ROUNDS = 10

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

/** One job on the shared machine: its own step files and exported variables, the machine's directories. */
const job = (machine: Runner): Runner => ({ ...machine, jobEnv: {}, jobPath: [] })

function readAuth(dir: string): Record<string, string> {
  const file = path.join(dir, 'auth')
  return fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8') || '{}') as Record<string, string>)
    : {}
}

function failures(steps: StepResult[]): string[] {
  return steps
    .filter(s => s.code !== 0 || /^::(error|warning)::/m.test(s.stdout))
    .map(s => `exit ${s.code}: ${/^::(error|warning)::.*$/m.exec(s.stdout)?.[0] ?? s.stderr}`)
}

describe('jobs sharing a HOME', () => {
  it(`${JOBS} jobs at once, ${ROUNDS} rounds: every login keeps the others' entries, every post step removes its own`, async () => {
    const machine = fresh()
    const dir = path.join(machine.home, '.convox')
    for (let round = 1; round <= ROUNDS; round++) {
      const logins = Array.from({ length: JOBS }, (_, i) => ({
        runner: job(machine),
        inputs: {
          host: `job-${i}.example.com`,
          password: `Round${round}Job${i}KeyAbCdEfGhIjKl`,
          validate: 'false'
        }
      }))
      const mains = await Promise.all(logins.map(l => runStep(l.runner, l.inputs)))
      expect({ round, failures: failures(mains) }).toEqual({ round, failures: [] })
      const auth = readAuth(dir)
      for (const { inputs } of logins) {
        expect({ round, host: inputs.host, key: auth[inputs.host] }).toEqual({
          round,
          host: inputs.host,
          key: inputs.password
        })
      }

      const posts = await Promise.all(
        logins.map((l, i) => runStep(l.runner, l.inputs, { postOf: mains[i]! }))
      )
      expect({ round, failures: failures(posts) }).toEqual({ round, failures: [] })
      const keys = logins.map(l => l.inputs.password)
      expect({ round, left: fs.existsSync(dir) ? filesContaining(dir, keys) : [] }).toEqual({
        round,
        left: []
      })
      expect({ round, auth: Object.keys(readAuth(dir)) }).toEqual({ round, auth: [] })
      expect(fs.readdirSync(machine.temp)).toEqual([])
    }
    // No lock is left behind either.
    expect(fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => f.includes('lock')) : []).toEqual([])
  }, 240_000)
})
