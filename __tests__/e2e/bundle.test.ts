import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as esbuild from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'
import { withoutOidcClient } from '../../scripts/bundle-plugins.ts'
import type { FakeConvox } from '../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../test-support/fake-convox.ts'
import { fakeCli } from '../../test-support/fake-cli.ts'
import type { Runner, StepResult } from '../../test-support/run-action.ts'
import { DIST, runnerPool, runStepTrustingInputs } from '../../test-support/run-action.ts'

/**
 * The shape of dist/ that start-up depends on (docs/bundler.md): dist/index.cjs holds no OIDC
 * client, no @actions/http-client and no undici, and a login, its post step and a login with an
 * already cached CLI load dist/index.cjs and no file of dist/vendor/.
 */

const KEY = 'BundleRackKeyMnBvCxZaSdFg'
const DIST_DIR = path.dirname(DIST)

/** Text each of them leaves in a minified bundle: undici's error codes, http-client's status names, the OIDC client's variable. */
const MARKERS = {
  undici: 'UND_ERR_',
  '@actions/http-client': 'SwitchProxy',
  'OIDC client': 'ACTIONS_ID_TOKEN_REQUEST_URL'
}

function markersIn(text: string): string[] {
  return Object.entries(MARKERS)
    .filter(([, marker]) => text.includes(marker))
    .map(([name]) => name)
}

describe('dist/index.cjs', () => {
  it('holds no OIDC client, no @actions/http-client and no undici', () => {
    expect(markersIn(fs.readFileSync(DIST, 'utf8'))).toEqual([])
  })

  it('would hold them without the without-oidc-client plugin: the markers are real', async () => {
    const build = (plugins: esbuild.Plugin[]) =>
      esbuild.build({
        stdin: { contents: "export * from '@actions/core'", resolveDir: path.dirname(DIST_DIR) },
        bundle: true,
        format: 'cjs',
        platform: 'node',
        minify: true,
        write: false,
        logLevel: 'silent',
        plugins
      })
    const [plain, stubbed] = await Promise.all([build([]), build([withoutOidcClient])])
    expect(markersIn(plain.outputFiles[0]!.text)).toEqual(Object.keys(MARKERS))
    expect(markersIn(stubbed.outputFiles[0]!.text)).toEqual([])
  })
})

// Preloaded into the step with --require: at exit, every file Node loaded through require, one per
// line, then the built-in modules it loaded (process.moduleLoadList's "NativeModule <name>" lines).
// CommonJS, so that the probe itself loads nothing an ESM import of node:fs would (fs/promises).
const PROBE = `const fs = require('node:fs');
process.on('exit', () => fs.writeFileSync(process.env.LOADED_OUT,
  [...Object.keys(require.cache), ...process.moduleLoadList].join('\\n')))`

describe('what a step loads of dist/', () => {
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
    const probe = path.join(runner.root, 'probe.cjs')
    fs.writeFileSync(probe, PROBE)
    const step = await runStepTrustingInputs(runner, inputs, {
      nodeArgs: ['--require', probe],
      env: { LOADED_OUT: out },
      postOf
    })
    expect(step.error).toBeUndefined()
    const lines = fs.readFileSync(out, 'utf8').split('\n')
    const loaded = lines.filter(file => file.startsWith(DIST_DIR)).map(file => path.relative(DIST_DIR, file))
    const builtins = lines
      .filter(l => l.startsWith('NativeModule '))
      .map(l => l.slice('NativeModule '.length))
    return { step, loaded, builtins }
  }

  const login = () => ({ host: fake.host, password: KEY, 'ca-cert': fake.caCert })

  it('a login loads dist/index.cjs alone, its post step dist/post.cjs alone', async () => {
    const runner = runners.fresh()
    const main = await loadedBy(runner, login())
    expect(main.loaded).toEqual(['index.cjs'])
    // @actions/exec, bundled for the CLI's version run, runs only then (bundle-plugins.ts sideEffectFreeToolkit).
    expect(main.builtins).not.toContain('child_process')
    const post = await loadedBy(runner, login(), main.step)
    expect(post.step.stdout).toContain('Restored the Convox settings')
    expect(post.loaded).toEqual(['post.cjs'])
    expect(post.builtins).not.toContain('child_process')
    expect(post.builtins).not.toContain('https')
    // The post step writes no job summary: @actions/core's summary module, which loads fs/promises, stays out.
    expect(post.builtins).not.toContain('internal/fs/promises')
  })

  it('a login with a CLI already in the tool cache loads dist/index.cjs alone', async () => {
    const runner = runners.fresh()
    const dir = path.join(runner.toolCache, 'convox', '3.24.9', process.arch)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'convox'), fakeCli(), { mode: 0o755 })
    fs.writeFileSync(`${dir}.complete`, '')
    const main = await loadedBy(runner, { ...login(), 'cli-version': '3.24.9' })
    expect(main.step.outputs['cli-path']).toBe(path.join(dir, 'convox'))
    expect(main.loaded).toEqual(['index.cjs'])
    expect(main.builtins).toContain('child_process')
  })
})
