/**
 * The Convox logic logs through this interface so it stays free of the runner: the GitHub Action
 * adapter maps it to workflow commands (src/action/log.ts), another CI's login command to plain stderr.
 */
export interface Log {
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
  /** Called with every secret as soon as it exists, before it can reach any other line. */
  secret(value: string): void
  /** Runs one phase (validate, switch, login, keyroll) under a heading a person can fold. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

/** A Log for code paths that must not print (tests of pure logic, dry runs). */
export const silentLog: Log = {
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  secret: () => undefined,
  group: (_name, fn) => fn()
}
