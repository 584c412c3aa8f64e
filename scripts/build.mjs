// Bundles the action into dist/ with esbuild (docs/bundler.md says why esbuild and why CommonJS).
//   dist/index.cjs     the action's main step (action.yml runs.main)
//   dist/post.cjs      its post step (runs.post): an entry of its own, so a post step can never run
//                      a login, whatever state its main step left or did not leave
//   dist/convox-login.cjs  the convox-login command for other CIs (package.json's bin), executable
//   dist/vendor/       the two heavy dependencies, each one file, required only by the feature that
//                      needs it: @actions/tool-cache (CLI install on a cache miss) and libsodium
//                      (keyroll with update-secret)
import * as esbuild from 'esbuild'
import fs from 'node:fs'

const VENDOR = {
  '@actions/tool-cache': {
    file: './vendor/tool-cache.cjs',
    contents: "export * from '@actions/tool-cache'"
  },
  'libsodium-wrappers': {
    file: './vendor/libsodium-wrappers.cjs',
    contents: "export { default } from 'libsodium-wrappers'",
    footer: 'module.exports = module.exports.default;'
  }
}

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

const vendor = {
  name: 'vendor',
  setup(build) {
    const names = new RegExp(`^(${Object.keys(VENDOR).join('|')})$`)
    build.onResolve({ filter: names }, args => ({ path: VENDOR[args.path].file, external: true }))
  }
}

fs.rmSync('dist', { recursive: true, force: true })
const index = await esbuild.build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.cjs',
  plugins: [vendor]
})
const post = await esbuild.build({
  ...common,
  entryPoints: ['src/post.ts'],
  outfile: 'dist/post.cjs',
  plugins: [vendor]
})

const cli = await esbuild.build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/convox-login.cjs',
  banner: { js: '#!/usr/bin/env node' },
  define: {
    CONVOX_LOGIN_VERSION: JSON.stringify(JSON.parse(fs.readFileSync('package.json', 'utf8')).version)
  },
  plugins: [vendor]
})
fs.chmodSync('dist/convox-login.cjs', 0o755)
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
for (const result of [index, post, cli, ...vendors]) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.cjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`)
  }
}
