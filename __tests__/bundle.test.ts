import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { FakeConvox } from '../test-support/fake-convox.ts'
import { startFakeConvox } from '../test-support/fake-convox.ts'
import type { Runner, StepResult } from '../test-support/run-action.ts'
import { DIST, runnerPool, runStepTrustingInputs } from '../test-support/run-action.ts'

/**
 * The shape of dist/ that start-up depends on (docs/bundler.md): a login and a post step load
 * dist/index.cjs and nothing else of ours; dist/features.cjs holds the rest and takes the modules
 * it shares with the login from index.cjs, so it cannot run on its own.
 */

const KEY = 'BundleRackKeyMnBvCxZaSdFg'
const DIST_DIR = path.dirname(DIST)
const FEATURES = path.join(DIST_DIR, 'features.cjs')

// Preloaded into the step: at exit, the files of dist/ that Node loaded, one per line.
const PROBE = `data:text/javascript,${encodeURIComponent(
  `import fs from 'node:fs'; import { createRequire } from 'node:module';
   const cache = createRequire(process.cwd() + '/').cache;
   process.on('exit', () => fs.writeFileSync(process.env.LOADED_OUT, Object.keys(cache).join('\\n')))`
)}`

describe('dist/', () => {
  const runners = runnerPool()
  let fake: FakeConvox
  beforeAll(async () => {
    fake = await startFakeConvox({ kind: 'rack', rack: { password: KEY } })
  })
  afterAll(async () => {
    runners.removeAll()
    await fake.close()
  })

  async function loadedBy(runner: Runner, inputs: Record<string, string>, postOf?: StepResult) {
    const out = path.join(runner.temp, 'loaded.txt')
    const step = await runStepTrustingInputs(runner, inputs, {
      nodeArgs: ['--import', PROBE],
      env: { LOADED_OUT: out },
      postOf
    })
    expect(step.error).toBeUndefined()
    const loaded = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter(file => file.startsWith(DIST_DIR))
      .map(file => path.relative(DIST_DIR, file))
    return { step, loaded }
  }

  it('a login and its post step load dist/index.cjs and nothing else of ours', async () => {
    const login = { host: fake.host, password: KEY, 'ca-cert': fake.caCert }
    const runner = runners.fresh()
    const main = await loadedBy(runner, login)
    expect(main.loaded).toEqual(['index.cjs'])
    const post = await loadedBy(runner, login, main.step)
    expect(post.step.stdout).toContain('Restored the Convox settings')
    expect(post.loaded).toEqual(['index.cjs'])
  })

  it('dist/features.cjs refuses to run on its own, with the reason', () => {
    const alone = spawnSync(process.execPath, [FEATURES], { encoding: 'utf8' })
    expect(alone.status).not.toBe(0)
    expect(alone.stderr).toContain('dist/features.cjs runs only under dist/index.cjs')
  })
})
