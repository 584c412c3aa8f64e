// Bundles the action into dist/ with esbuild (docs/bundler.md says why esbuild and why CommonJS).
//   dist/index.cjs     the action: main and post step (action.yml runs it), without @actions/core's
//                      OIDC client and so without @actions/http-client and undici
//   dist/vendor/       the two heavy dependencies, each one file, required only by the feature that
//                      needs it: @actions/tool-cache (CLI download on a cache miss) and libsodium
//                      (keyroll with update-secret)
import * as esbuild from 'esbuild'
import fs from 'node:fs'
import { VENDOR, vendorFiles, withoutOidcClient } from './bundle-plugins.ts'

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  minify: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning'
}

fs.rmSync('dist', { recursive: true, force: true })
const index = await esbuild.build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.cjs',
  plugins: [vendorFiles, withoutOidcClient]
})
// The plugin matches @actions/core's file by name: if a new version moves the OIDC client, say so
// here rather than ship undici in every step.
const heavy = Object.keys(index.metafile.inputs).filter(file =>
  /node_modules\/(undici|@actions\/http-client)\//.test(file)
)
if (heavy.length) {
  throw new Error(`dist/index.cjs would hold ${heavy[0]}: the without-oidc-client plugin no longer applies.`)
}
const vendors = await Promise.all(
  Object.values(VENDOR).map(({ file, contents, footer }) =>
    esbuild.build({
      ...common,
      stdin: { contents, resolveDir: '.', sourcefile: file },
      footer: footer && { js: footer },
      outfile: `dist/${file}`
    })
  )
)
for (const result of [index, ...vendors]) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.cjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`)
  }
}
