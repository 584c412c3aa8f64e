/**
 * How a sentence names an option, so that the action (inputs) and the convox-login command
 * (flags) say the same thing in their own words. The core names an option by its input name (as
 * in action.yml); each front end's Naming renders it. A sentence the core renders at run time
 * takes its Naming from the Frontend, never writes an input name itself.
 */
export interface Naming {
  /** The option as the subject of a sentence: `The rack input`, `--rack`. */
  subject(name: string): string
  /** The option mentioned in passing: `rack`, `--rack`. */
  ref(name: string): string
  /** The option given a value, as the user writes it: `keyroll: true`, `--no-validate`, `--timeout 30m`. */
  set(name: string, value: string): string
  /** Where the key is given, after "in": `the password input`. */
  keySource: string
}

/** The action's: its inputs, by their names in action.yml. */
export const INPUT_NAMING: Naming = {
  subject: name => `The ${name} input`,
  ref: name => name,
  set: (name, value) => `${name}: ${value}`,
  keySource: 'the password input'
}
