// Bundles the action into dist/ with esbuild (docs/bundler.md says why esbuild).
// ESM with code splitting: what only keyroll or the CLI install needs (libsodium,
// @actions/tool-cache) sits in chunks that load only when those features are used.
import * as esbuild from 'esbuild'
import fs from 'node:fs'

// @actions/core imports its OIDC client, and through it @actions/http-client and undici, at load
// time. This action never asks for an OIDC token, and parsing undici more than doubled what the
// action costs over bare Node at start (docs/bundler.md has the figures), so core's copy is
// replaced by a stub that says so.
// @actions/tool-cache still gets the real http-client, in its own lazily loaded chunk.
const withoutOidc = {
  name: 'without-oidc',
  setup(build) {
    build.onResolve({ filter: /^@actions\/http-client/ }, args =>
      /@actions[\\/]core[\\/]lib[\\/]oidc-utils\.js$/.test(args.importer)
        ? { path: args.path, namespace: 'oidc-stub' }
        : undefined
    )
    build.onLoad({ filter: /.*/, namespace: 'oidc-stub' }, () => ({
      contents:
        "const unavailable = () => { throw new Error('convox-login does not bundle the OIDC client') }\n" +
        'export class HttpClient { constructor() { unavailable() } }\n' +
        'export class BearerCredentialHandler { constructor() { unavailable() } }\n',
      loader: 'js'
    }))
  }
}

fs.rmSync('dist', { recursive: true, force: true })
const result = await esbuild.build({
  entryPoints: { index: 'src/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  legalComments: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  // Some dependencies are CommonJS and call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  },
  plugins: [withoutOidc],
  logLevel: 'warning'
})
const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'))
for (const [file, { bytes }] of outputs) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`)
