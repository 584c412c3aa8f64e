// The esbuild plugins of scripts/build.mjs, in a module of their own so that __tests__/e2e/bundle.test.ts
// can build with and without them (docs/bundler.md says why each exists).
import type { OnResolveArgs, Plugin } from 'esbuild'

/** The two heavy dependencies, each bundled into a file of its own that only the feature needing it loads. */
export const VENDOR: Record<string, { file: string; contents: string; footer?: string }> = {
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

/** Resolves each import of a vendored package to its file in dist/vendor/, required at run time. */
export const vendorFiles: Plugin = {
  name: 'vendor-files',
  setup(build) {
    const names = new RegExp(`^(${Object.keys(VENDOR).join('|')})$`)
    build.onResolve({ filter: names }, args => ({ path: VENDOR[args.path]!.file, external: true }))
  }
}

/**
 * @actions/core imports its OIDC client at load time, and with it @actions/http-client and undici
 * (about 400 KiB). The action never asks for an ID token, so the client is replaced by one whose only
 * method says so. Marking the module free of side effects would drop it only while nothing reaches
 * core's getIDToken, which an `import * as core` passed around as a value would.
 */
export const withoutOidcClient: Plugin = {
  name: 'without-oidc-client',
  setup(build) {
    build.onLoad({ filter: /[\\/]@actions[\\/]core[\\/]lib[\\/]oidc-utils\.js$/ }, () => ({
      contents: `export class OidcClient {
        static async getIDToken() {
          throw new Error('convox-login is built without the OIDC client of @actions/core (scripts/bundle-plugins.ts): getIDToken is not available.')
        }
      }`,
      loader: 'js'
    }))
  }
}

/**
 * Modules of the toolkit whose top level only prepares what their functions use, marked free of
 * side effects so that esbuild leaves them out of a bundle that imports them without using them,
 * and runs them only when they are used:
 * - @actions/exec and @actions/io: @actions/core's `platform` namespace (lib/platform.js, which we
 *   never use) imports @actions/exec. Once @actions/exec is in the bundle for the CLI's version
 *   run, esbuild kept that import and ran @actions/exec at start, loading `child_process`, `net`
 *   and `dgram` in every step. Now it runs at the first version run (src/toolkit/exec.ts).
 * - @actions/core's lib/summary.js: it takes `fs.promises` at its top level, which loads Node's
 *   promise-based file system and readline. The post step writes no summary and loads none of it.
 */
export const sideEffectFreeToolkit: Plugin = {
  name: 'side-effect-free-toolkit',
  setup(build) {
    const mark = async (args: OnResolveArgs) => {
      if (args.pluginData === 'side-effect-free-toolkit') return undefined
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'side-effect-free-toolkit'
      })
      return { ...resolved, sideEffects: false }
    }
    build.onResolve({ filter: /^@actions\/(exec|io)(\/.*)?$/ }, mark)
    build.onResolve({ filter: /^\.\/summary\.js$/ }, args =>
      /[\\/]@actions[\\/]core[\\/]lib$/.test(args.resolveDir) ? mark(args) : undefined
    )
  }
}
