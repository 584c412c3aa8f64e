/**
 * The features a plain login never uses: the CLI install, the keyroll and the GitHub secret store.
 * main.ts imports this module only when an input asks for one of them. In dist/ it is a file of its
 * own, dist/features.cjs, which takes every module it shares with the login from dist/index.cjs
 * rather than carrying a copy (scripts/build.mjs): a login and a post step then load and compile
 * half the code (docs/bundler.md).
 */
export { installCli } from './cli/install.ts'
export { KeyrollError, runKeyroll } from './convox/keyroll.ts'
export { gitHubSecretStoreFromEnv } from './github/secrets.ts'
