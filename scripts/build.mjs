// Bundles the action into dist/ with esbuild (docs/bundler.md says why esbuild, why CommonJS and
// why two files of our own).
//   dist/index.cjs     the login and the post step: the one file they load (action.yml runs it)
//   dist/features.cjs  the CLI install, the keyroll and the GitHub secret store (src/features.ts),
//                      loaded only when an input asks for one of them; it takes every module it
//                      shares with index.cjs from index.cjs (see SHARED below)
//   dist/vendor/       the two heavy dependencies, each one file, required only by the feature that
//                      needs it: @actions/tool-cache (CLI install on a cache miss) and libsodium
//                      (keyroll with update-secret)
import * as esbuild from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'

// Where our files find the vendor bundles (relative to themselves: all live in dist/), and what
// each exports. Our code reaches them with import(), which hands a CommonJS file's module.exports
// over as the default export and the names it can see statically as named exports; both are kept
// as the packages' own entry points give them.
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

const FEATURES = 'src/features.ts'

/** The file a relative import names, as a path from the repository root (`src/convox/errors.ts`). */
const repoPath = args =>
  path.relative('.', path.resolve(args.resolveDir, args.path)).split(path.sep).join('/')

// Where index.cjs puts the modules that features.cjs uses too. features.cjs must use index.cjs's
// instances of them, not copies of its own: a ConvoxError thrown by the keyroll must be the class
// main.ts tests with instanceof, and a module's state must exist once. So each import of such a
// module in features.cjs becomes a look-up in this registry, which index.cjs fills as it loads. A
// registry rather than require('./index.cjs'): that returns the running step's module only while
// Node resolves both paths alike (--preserve-symlinks can make them differ), and otherwise would
// load, and so start, the action a second time. SHARED is the registry's key, as source text for
// the code generated into both files.
const SHARED = "Symbol.for('convox-login.sharedModules')"

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

// In index.cjs, src/features.ts is the other file, loaded by import() when needed.
const featuresApart = {
  name: 'features-apart',
  setup(build) {
    build.onResolve({ filter: /\/features\.ts$/ }, args =>
      repoPath(args) === FEATURES ? { path: './features.cjs', external: true } : undefined
    )
  }
}

/** Our source files in a build, as paths relative to the repository (`src/convox/errors.ts`). */
const sources = metafile => Object.keys(metafile.inputs).filter(file => file.startsWith('src/'))

/** In features.cjs, each of `shared` (index.cjs's modules) becomes a look-up in index.cjs's registry. */
function fromIndex(shared, used) {
  const REGISTRY = 'registry of index.cjs'
  return {
    name: 'from-index',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${REGISTRY}$`) }, () => ({
        path: REGISTRY,
        namespace: 'from-index'
      }))
      build.onResolve({ filter: /^\.\.?\// }, args => {
        const file = repoPath(args)
        return shared.has(file) ? { path: file, namespace: 'from-index' } : undefined
      })
      build.onLoad({ filter: /.*/, namespace: 'from-index' }, args => {
        if (args.path === REGISTRY) {
          return {
            contents:
              `const shared = globalThis[${SHARED}]\n` +
              "if (!shared) throw new Error('dist/features.cjs runs only under dist/index.cjs, which shares its modules with it')\n" +
              'module.exports = shared',
            loader: 'js'
          }
        }
        used.add(args.path)
        return {
          contents: `module.exports = require('${REGISTRY}')[${JSON.stringify(args.path)}]`,
          loader: 'js'
        }
      })
    }
  }
}

fs.rmSync('dist', { recursive: true, force: true })

// 1. The login and post step on their own, to learn which of our modules index.cjs holds.
const probe = await esbuild.build({
  ...common,
  entryPoints: ['src/index.ts'],
  write: false,
  outfile: 'dist/index.cjs',
  plugins: [vendor, featuresApart]
})
const inIndex = new Set(sources(probe.metafile))

// 2. features.cjs, with every module that index.cjs holds taken from it.
const used = new Set()
const features = await esbuild.build({
  ...common,
  entryPoints: ['src/features.ts'],
  outfile: 'dist/features.cjs',
  plugins: [vendor, fromIndex(inIndex, used)]
})

// 3. index.cjs for real: the same code, registering the modules that features.cjs takes from it.
// The registry is filled once src/index.ts has loaded; features.cjs loads later, on an import()
// that the step reaches only after an await.
const shared = [...used].sort()
const entry = [
  "import './src/index.ts'",
  ...shared.map((file, i) => `import * as m${i} from './${file}'`),
  `globalThis[${SHARED}] = { ${shared.map((file, i) => `${JSON.stringify(file)}: m${i}`).join(', ')} }`
].join('\n')
const index = await esbuild.build({
  ...common,
  stdin: { contents: entry, resolveDir: '.', sourcefile: 'dist-entry.js', loader: 'js' },
  outfile: 'dist/index.cjs',
  plugins: [vendor, featuresApart]
})

// Each of our modules is in one file only; a second copy would be a second class and a second state.
const both = sources(features.metafile).filter(file => inIndex.has(file))
if (both.length) throw new Error(`modules bundled into both index.cjs and features.cjs: ${both.join(', ')}`)

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
for (const result of [index, features, ...vendors]) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.cjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`)
  }
}
