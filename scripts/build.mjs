// Bundles into dist/ with esbuild (docs/bundler.md says why esbuild and why CommonJS).
//   dist/index.cjs         the action's main step (action.yml runs.main)
//   dist/post.cjs          its post step (runs.post): an entry of its own, so a post step can never
//                          run a login, whatever state its main step left or did not leave
//   dist/convox-login.cjs  the convox-login command for other CIs (package.json's bin), executable
//   dist/vendor/           the two heavy dependencies, each one file, required only by the feature
//                          that needs it: @actions/tool-cache (CLI download on a cache miss) and
//                          libsodium (keyroll with a GitHub secret store)
// None of the three holds @actions/core's OIDC client, and so none holds @actions/http-client or
// undici (bundle-plugins.ts).
import * as esbuild from 'esbuild'
import fs from 'node:fs'
import { sideEffectFreeToolkit, VENDOR, vendorFiles, withoutOidcClient } from './bundle-plugins.ts'

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  minify: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  plugins: [vendorFiles, withoutOidcClient, sideEffectFreeToolkit]
}

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'))
// esbuild's target for what the command runs: the lowest Node package.json's engines admits.
const COMMAND_TARGET = `node${/^>=(\d+(?:\.\d+)*)$/.exec(pkg.engines.node)[1]}`

fs.rmSync('dist', { recursive: true, force: true })
const entries = [
  { entryPoints: ['src/index.ts'], outfile: 'dist/index.cjs' },
  { entryPoints: ['src/post.ts'], outfile: 'dist/post.cjs' },
  {
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/convox-login.cjs',
    // Other CIs run the command on the Node their image carries (registry.test.ts runs it on each).
    target: COMMAND_TARGET,
    banner: { js: '#!/usr/bin/env node' },
    define: {
      CONVOX_LOGIN_VERSION: JSON.stringify(pkg.version)
    }
  }
]
const ours = await Promise.all(entries.map(entry => esbuild.build({ ...common, ...entry })))
fs.chmodSync('dist/convox-login.cjs', 0o755)
// The plugin matches @actions/core's file by name: if a new version moves the OIDC client, say so
// here rather than ship undici in every step.
for (const [i, result] of ours.entries()) {
  const heavy = Object.keys(result.metafile.inputs).filter(file =>
    /node_modules\/(undici|@actions\/http-client)\//.test(file)
  )
  if (heavy.length) {
    throw new Error(
      `${entries[i].outfile} would hold ${heavy[0]}: the without-oidc-client plugin no longer applies.`
    )
  }
}
const vendors = await Promise.all(
  Object.values(VENDOR).map(({ file, contents, footer }) =>
    esbuild.build({
      ...common,
      // The command loads these too.
      target: COMMAND_TARGET,
      plugins: [],
      stdin: { contents, resolveDir: '.', sourcefile: file },
      footer: footer && { js: footer },
      outfile: `dist/${file}`
    })
  )
)
for (const result of [...ours, ...vendors]) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.cjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`)
  }
}
