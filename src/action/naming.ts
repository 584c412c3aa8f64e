import type { Naming } from '../core/naming.ts'

/** The action's naming: its inputs, by their names in action.yml, and values a workflow writes. */

const EXAMPLES: Record<string, string> = {
  'config-dir': '${{ runner.temp }}/convox',
  'cli-token': '${{ github.token }}'
}

export const INPUT_NAMING: Naming = {
  subject: name => `The ${name} input`,
  the: (...names) =>
    names.length === 1
      ? `the ${names[0]} input`
      : `the ${names.slice(0, -1).join(', ')} and ${names.at(-1)} inputs`,
  ref: name => name,
  set: (name, value) => `${name}: ${value}`,
  unset: (name, value) => `remove ${name}: ${value}`,
  given: (name, value) => (value === '' ? `${name} is empty` : `${name} is ${value}`),
  has: () => true,
  keySource: 'the password input',
  self: 'the action',
  example: name => EXAMPLES[name] ?? ''
}
