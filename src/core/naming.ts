/**
 * How a sentence names an option, so that the action (inputs) and the convox-login command
 * (flags) refuse a value with the same words but their own names for it.
 */
export interface Naming {
  /** The option as the subject of a sentence: `The rack input`, `--rack`. */
  subject(name: string): string
  /** The option mentioned in passing: `rack`, `--rack`. */
  ref(name: string): string
  /** Where the key is given, after "in": `the password input`. */
  keySource: string
}

/** The action's: its inputs, by their names in action.yml. */
export const INPUT_NAMING: Naming = {
  subject: name => `The ${name} input`,
  ref: name => name,
  keySource: 'the password input'
}
