/**
 * Node built-ins that are loaded when first used rather than when the bundle starts. node:tls
 * (which brings node:crypto) is most of what a step spends besides Node's own start, and when it
 * loads matters as much as whether it does (docs/performance.md):
 * - the post step, which sends nothing, should never load it;
 * - a main step should load it first, before anything else: node:tls starts parsing Node's
 *   bundled root certificates on another thread as it loads, and a TLS connection made while that
 *   thread still runs waits for it, about 5 ms on two cores. Loaded first, it is done by the time
 *   the login connects. So node:crypto, which would otherwise load at start, is loaded here too.
 */

export function nodeTls(): typeof import('node:tls') {
  return process.getBuiltinModule('node:tls')
}

export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto')
}
