// Bundles the action into dist/ with esbuild (docs/bundler.md says why esbuild and why CommonJS).
//   dist/index.cjs   all of our code, the one file a login loads (action.yml runs it)
//   dist/vendor/     the two heavy dependencies, each one file, required only by the feature that
//                    needs it: @actions/tool-cache (CLI install on a cache miss) and libsodium
//                    (keyroll with update-secret)
import * as esbuild from 'esbuild'
import fs from 'node:fs'

// Where index.cjs finds the vendor bundles (relative to itself), and what each exports. Our code
// reaches them with import(), which hands a CommonJS file's module.exports over as the default
// export and the names it can see statically as named exports; both are kept as the packages'
// own entry points give them.
const VENDOR = {
  '@actions/tool-cache': {
    file: './vendor/tool-cache.cjs',
    // ESM only: its named exports (downloadTool, cacheFile, ...).
    contents: "export * from '@actions/tool-cache'"
  },
  'libsodium-wrappers': {
    file: './vendor/libsodium-wrappers.cjs',
    // Its ESM build (its CommonJS one is twice the size). The default export must be the sodium
    // object itself, whose functions appear once `ready` resolves, so module.exports becomes it.
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

fs.rmSync('dist', { recursive: true, force: true })
const builds = [
  esbuild.build({
    ...common,
    entryPoints: ['src/index.ts'],
    outfile: 'dist/index.cjs',
    plugins: [
      {
        name: 'vendor',
        setup(build) {
          const names = new RegExp(`^(${Object.keys(VENDOR).join('|')})$`)
          build.onResolve({ filter: names }, args => ({ path: VENDOR[args.path].file, external: true }))
        }
      }
    ]
  }),
  ...Object.values(VENDOR).map(({ file, contents, footer }) =>
    esbuild.build({
      ...common,
      stdin: { contents, resolveDir: '.', sourcefile: file },
      footer: footer && { js: footer },
      outfile: `dist/${file}`
    })
  )
]
for (const result of await Promise.all(builds)) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.cjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`)
  }
}
