/**
 * How a sentence names an option, so that the action (inputs) and the convox-login command
 * (flags) say the same thing in their own words. The core names an option by its input name (as
 * in action.yml); each front end's Naming renders it (the action's in action/naming.ts, the
 * command's in cli/args.ts). A sentence the core renders at run time takes its Naming from the
 * Frontend, never writes an input name itself.
 */
export interface Naming {
  /** The option as the subject of a sentence: `The rack input`, `--rack`. */
  subject(name: string): string
  /** The options as a noun inside a sentence: `the host and rack inputs`, `--host and --rack`. */
  the(...names: string[]): string
  /** The option mentioned in passing: `rack`, `--rack`. */
  ref(name: string): string
  /** The option given a value, as the user writes it: `keyroll: true`, `--no-validate`, `--timeout 30m`. */
  set(name: string, value: string): string
  /** How to stop giving the option that value: `remove keyroll: true`, `use convox-login login`. */
  unset(name: string, value: string): string
  /** A clause saying the option has that value (`''`: none): `validate is false`, `--no-validate is given`. */
  given(name: string, value: string): string
  /** Whether this front end offers the option at all (the command has no rack-url). */
  has(name: string): boolean
  /** Where the key is given, after "in": `the password input`. */
  keySource: string
  /** The front end itself, as a sentence names it: `the action`, `convox-login`. */
  self: string
  /**
   * A value of the option as this front end's user would write it, `''` for none: for config-dir,
   * a directory outside the checkout that exists there (the runner's temp directory in the action).
   */
  example(name: string): string
}
