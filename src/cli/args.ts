import { InputError } from '../core/errors.ts'
import type { Naming } from '../core/naming.ts'
import { parseBoolean } from '../core/options.ts'

/**
 * The command line of convox-login, in one place: the commands, their flags (the table the
 * README's snippets are checked against) and the parsing of argv into typed flags. Values are
 * only split off here; what they mean is decided in options.ts, by the same rules as the action's
 * inputs.
 */

export const COMMANDS = ['login', 'logout', 'keyroll', 'install-cli', 'status'] as const
export type Command = (typeof COMMANDS)[number]

export const FORMATS = ['auto', 'sh', 'fish', 'pwsh', 'dotenv', 'github', 'azure', 'json', 'none'] as const
export type Format = (typeof FORMATS)[number]

export interface FlagSpec {
  name: string
  /** What the value is, in the usage line; none for a switch (`--insecure`, `--insecure=false`). */
  value?: string
  help: string
}

const LOGIN_FLAGS: FlagSpec[] = [
  { name: 'host', value: 'H', help: 'Console or Rack host (CONVOX_HOST, then console.convox.com)' },
  { name: 'rack', value: 'R', help: 'rack to switch to, org/rack or a bare name (CONVOX_RACK)' },
  { name: 'config-dir', value: 'D', help: 'settings directory (~/.convox)' },
  { name: 'ca-cert-file', value: 'F', help: "PEM file of the CA that signed the host's certificate" },
  { name: 'insecure', help: "do not verify the host's TLS certificate" },
  {
    name: 'actor',
    value: 'A',
    help: "who the rack's audit log names (derived from the CI run; none: no one)"
  },
  { name: 'retry-for', value: 'DURATION', help: 'how long network errors, 5xx and 429 are retried (60s)' },
  { name: 'no-validate', help: 'write the settings without asking the API' },
  { name: 'password-stdin', help: 'read the key from standard input (else CONVOX_PASSWORD)' },
  { name: 'password-file', value: 'F', help: 'read the key from a file (else CONVOX_PASSWORD)' },
  { name: 'format', value: FORMATS.join('|'), help: 'how later steps get the login (auto)' },
  { name: 'dotenv-file', value: 'F', help: 'also write a dotenv report (GitLab CI), without the key' },
  { name: 'state-file', value: 'F', help: 'where the undo record goes (one per config dir)' }
]

const MINT_FLAGS: FlagSpec[] = [
  {
    name: 'mint-token',
    value: 'read|write|admin',
    help: 'hand over a minted token of this role, not the key (v3)'
  },
  { name: 'mint-token-hours', value: 'N', help: 'how long the minted token lives, 1 to 8760 (6)' }
]

const STORE_PLACE_FLAGS: FlagSpec[] = [
  { name: 'github-repo', value: 'OWNER/NAME', help: "the secret's repository (GITHUB_REPOSITORY)" },
  { name: 'github-environment', value: 'E', help: 'an environment secret of that environment' },
  { name: 'gitlab-project', value: 'ID', help: "the variable's project (CI_PROJECT_ID)" }
]

const TOKEN_STORE_FLAGS: FlagSpec[] = [
  {
    name: 'token-github-secret',
    value: 'NAME',
    help: 'store the minted RACK_URL in this secret (GITHUB_TOKEN)'
  },
  {
    name: 'token-gitlab-variable',
    value: 'NAME',
    help: 'store the minted RACK_URL in this variable (GITLAB_TOKEN)'
  },
  { name: 'token-file', value: 'F', help: 'write the minted RACK_URL to this file (mode 0600)' },
  { name: 'revoke-tokens', help: "rotate the rack's signing key first: every earlier token dies" },
  { name: 'timeout', value: 'DURATION', help: 'how long the rack may take to restart its API (30m)' },
  ...STORE_PLACE_FLAGS
]

const KEYROLL_FLAGS: FlagSpec[] = [
  ...LOGIN_FLAGS,
  ...MINT_FLAGS,
  { name: 'timeout', value: 'DURATION', help: 'how long the rack may take to apply the key (30m)' },
  {
    name: 'next-password-file',
    value: 'F',
    help: 'pending key of an earlier roll; without a store, where the new key is written'
  },
  { name: 'github-secret', value: 'NAME', help: 'GitHub Actions secret holding the key (GITHUB_TOKEN)' },
  { name: 'gitlab-variable', value: 'NAME', help: 'GitLab CI/CD variable holding the key (GITLAB_TOKEN)' },
  ...STORE_PLACE_FLAGS,
  { name: 'instances', help: "then roll the instances' SSH key (convox instances keyroll)" },
  { name: 'instances-only', help: "roll only the instances' SSH key, not the password" },
  {
    name: 'ssh-key-github-secret',
    value: 'NAME',
    help: 'v3: GitHub Actions secret for the new instance private key'
  },
  {
    name: 'ssh-key-gitlab-variable',
    value: 'NAME',
    help: 'v3: GitLab CI/CD variable for it (an existing file variable)'
  },
  { name: 'ssh-key-file', value: 'F', help: 'v3: a file (mode 0600) for it, which you then store' }
]

/** Every command's flags. */
export const FLAGS: Record<Command, FlagSpec[]> = {
  login: [...LOGIN_FLAGS, ...MINT_FLAGS, ...TOKEN_STORE_FLAGS],
  logout: [
    { name: 'config-dir', value: 'D', help: 'settings directory to restore (CONVOX_CONFIG, then ~/.convox)' },
    { name: 'state-file', value: 'F', help: 'the undo record login wrote' },
    {
      name: 'format',
      value: 'auto|sh|fish|pwsh|none',
      help: 'the shell to print the lines that unset the login for (auto)'
    }
  ],
  keyroll: KEYROLL_FLAGS,
  'install-cli': [
    { name: 'version', value: 'V', help: 'latest, a v3 version such as 3.24.9 or a v2 timestamp' },
    {
      name: 'download-url',
      value: 'TEMPLATE',
      help: 'a mirror, such as https://m.example.com/{version}/{asset}'
    },
    { name: 'cache-dir', value: 'D', help: 'one directory per version (~/.cache/convox-login)' },
    { name: 'format', value: FORMATS.join('|'), help: 'how later steps get the CLI on PATH (auto)' }
  ],
  status: [
    { name: 'config-dir', value: 'D', help: 'settings directory (CONVOX_CONFIG, then ~/.convox)' },
    { name: 'state-file', value: 'F', help: 'the undo record login wrote' },
    { name: 'validate', help: 'ask the API whether the key works and what the host is' },
    {
      name: 'ca-cert-file',
      value: 'F',
      help: "with --validate: PEM file of the CA that signed the host's certificate"
    },
    { name: 'insecure', help: "with --validate: do not verify the host's TLS certificate" },
    {
      name: 'retry-for',
      value: 'DURATION',
      help: 'with --validate: how long network errors are retried (60s)'
    }
  ]
}

export const SUMMARY: Record<Command, string> = {
  login: 'log in to a Console or Rack and hand the login to later steps',
  logout: 'undo the last login on a settings directory',
  keyroll:
    "log in, then roll the Rack API key (a v3 rack's through Console) and, with --instances, the instances' SSH key",
  'install-cli': 'install the Convox CLI into a cache and put it on PATH',
  status: 'say which host, key, rack and settings the Convox CLIs would use now'
}

/** What each exit status means, in --help; status answers a question, so its 1 is "no". */
const EXIT_CODES: Record<Command | 'any', string> = {
  any: 'Exit status: 0 done, 1 the work failed (one sentence on stderr), 2 the command line is wrong.',
  login:
    'Exit status: 0 logged in, 1 the login failed (one sentence on stderr), 2 the command line is wrong.',
  keyroll:
    'Exit status: 0 rolled, 1 the login or keyroll failed (one sentence on stderr), 2 the command line is wrong.',
  logout: 'Exit status: 0 (a problem undoing is a warning), 2 the command line is wrong.',
  'install-cli':
    'Exit status: 0 installed, 1 the install failed (one sentence on stderr), 2 the command line is wrong.',
  status:
    'Exit status: 0 logged in (and, with --validate, accepted), 1 not logged in, 2 the command line is wrong.'
}

/**
 * How the command names each of the action's inputs that the core can name at run time: the flag
 * that carries it, an environment variable, or what the command offers instead.
 */
const COMMAND_OF_INPUT: Record<string, string> = {
  'ca-cert': '--ca-cert-file',
  'keyroll-timeout': '--timeout',
  'password-next': '--next-password-file',
  'update-secret': '--github-secret',
  'instances-keyroll': '--instances',
  'ssh-key-secret': '--ssh-key-github-secret',
  'token-secret': '--token-github-secret',
  'update-secret-environment': '--github-environment',
  'github-token': 'GITHUB_TOKEN',
  'cli-version': '--version',
  'cli-download-url': '--download-url',
  // The command always hands the login over; --format none keeps it to the settings files.
  'export-env': '--format',
  // A command of its own: a login's settings stay until it is run.
  logout: 'convox-login logout',
  keyroll: 'convox-login keyroll'
}

/** The action's inputs the command has nothing for: it reads the key, not a whole RACK_URL. */
const NOT_OFFERED = ['rack-url', 'cli-token']

const KEY_SOURCE = 'CONVOX_PASSWORD, --password-stdin or --password-file'

/** The variables a flag falls back to, for a sentence saying neither was given. */
const ENV_OF_FLAG: Record<string, string> = { host: 'CONVOX_HOST', rack: 'CONVOX_RACK' }

const flag = (name: string) => COMMAND_OF_INPUT[name] ?? `--${name}`

/**
 * The shared rules' and the core's sentences name flags here; tempDir is a settings directory the
 * CI the command runs in can name in a shell step (ci.ts), never an expression of another CI.
 */
export function flagNaming(tempDir = '"$(mktemp -d)/convox"'): Naming {
  const ref = (name: string) => (name === 'password' ? 'the current key' : flag(name))
  const set = (name: string, value: string) => {
    // The keyroll and the logout are commands of their own, not switches of login.
    if (name === 'keyroll') return value === 'true' ? 'convox-login keyroll' : 'convox-login login'
    if (name === 'logout') return value === 'true' ? 'convox-login logout' : 'no convox-login logout'
    if (name === 'export-env') return value === 'true' ? '--format auto' : '--format none'
    if (name === 'password') return 'CONVOX_PASSWORD'
    if (value === 'true') return flag(name)
    if (value === 'false') return `--no-${flag(name).replace(/^--/, '')}`
    return `${flag(name)} ${value}`
  }
  return {
    subject: name => (name === 'password' ? `The key (${KEY_SOURCE})` : flag(name)),
    the: (...names) => {
      const each = names.map(name => (name === 'password' ? `the key (${KEY_SOURCE})` : flag(name)))
      return each.length === 1 ? each[0]! : `${each.slice(0, -1).join(', ')} and ${each.at(-1)}`
    },
    ref,
    set,
    // Switching from keyroll to login is another command, not a flag to remove.
    unset: (name, value) => (name === 'keyroll' ? `use ${set(name, 'false')}` : `remove ${set(name, value)}`),
    given: (name, value) => {
      if (value !== '') return `${set(name, value)} is given`
      return ENV_OF_FLAG[name]
        ? `neither ${ref(name)} nor ${ENV_OF_FLAG[name]} is given`
        : `no ${ref(name)} is given`
    },
    has: name => !NOT_OFFERED.includes(name),
    keySource: KEY_SOURCE,
    self: 'convox-login',
    example: name => (name === 'config-dir' ? tempDir : '')
  }
}

/** For parsing the command line, before the CI is known to matter. */
export const FLAG_NAMING: Naming = flagNaming()

/** A command line the user must correct: exits 2 with the usage line. */
export class UsageError extends InputError {
  override name = 'UsageError'
  readonly command: Command | undefined

  constructor(message: string, command?: Command) {
    super(message)
    this.command = command
  }
}

/** The flags given, by name: a string for flags with a value, a boolean for switches. */
export type Flags = Partial<Record<string, string | boolean>>

export type Invocation =
  { command: 'help'; topic?: Command } | { command: 'version' } | { command: Command; flags: Flags }

export function usageLine(command?: Command): string {
  if (!command) return `usage: convox-login <${COMMANDS.join('|')}> [flags]   (convox-login <command> --help)`
  const flags = FLAGS[command].map(f => (f.value ? `[--${f.name} ${f.value}]` : `[--${f.name}]`))
  return `usage: convox-login ${command} ${flags.join(' ')}`
}

export function helpText(command?: Command): string {
  if (!command) {
    const rows = COMMANDS.map(c => `  ${c.padEnd(12)} ${SUMMARY[c]}`)
    return [
      usageLine(),
      '',
      'Commands:',
      ...rows,
      '',
      '  --help, -h, --version, -V',
      '',
      EXIT_CODES.any
    ].join('\n')
  }
  const rows = FLAGS[command].map(f => {
    const left = `--${f.name}${f.value ? ` ${f.value}` : ''}`
    return `  ${left.padEnd(28)} ${f.help}`
  })
  return [usageLine(command), '', SUMMARY[command], '', ...rows, '', EXIT_CODES[command]].join('\n')
}

const PASSWORD_AS_FLAG =
  'A key given as a flag value would be visible in the process list and in the shell history: ' +
  'set CONVOX_PASSWORD, or pass --password-stdin or --password-file F.'

export function parseArgs(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`Unknown command "${topic}".`)
    return { command: 'help', topic }
  }
  if (first === '--version' || first === '-V') return { command: 'version' }
  if (!isCommand(first)) {
    throw new UsageError(
      !first.startsWith('-')
        ? `Unknown command "${first}": use ${COMMANDS.join(', ')}.`
        : LOGIN_FLAGS.some(f => first.split('=')[0] === `--${f.name}`)
          ? `"${first}" comes before a command: give the command first, such as convox-login login ${first}.`
          : `Unknown flag "${first}": give a command first (${COMMANDS.join(', ')}), or --help or --version.`
    )
  }
  const command = first
  const specs = new Map(FLAGS[command].map(f => [f.name, f]))
  const flags: Flags = {}
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === '--help' || arg === '-h') return { command: 'help', topic: command }
    const match = /^--([a-z][a-z0-9-]*)(?:=([\s\S]*))?$/.exec(arg)
    if (!match) {
      throw new UsageError(
        arg.startsWith('-')
          ? `Unknown flag "${arg}".`
          : `Unexpected argument "${arg}": convox-login ${command} takes flags only.`,
        command
      )
    }
    const name = match[1]!
    const inline = match[2]
    // Before anything else, and without echoing the value: it is a key.
    if (name === 'password') throw new UsageError(PASSWORD_AS_FLAG, command)
    const spec = specs.get(name)
    if (!spec) throw new UsageError(`Unknown flag "--${name}" for convox-login ${command}.`, command)
    if (name in flags) throw new UsageError(`--${name} is given twice: give it once.`, command)
    if (!spec.value) {
      flags[name] = inline === undefined ? true : parseSwitch(name, inline, command)
      continue
    }
    if (inline !== undefined) {
      flags[name] = inline
      continue
    }
    const next = rest[i + 1]
    if (next === undefined || (next.startsWith('--') && next.length > 2)) {
      throw new UsageError(`--${name} needs a value: --${name} ${spec.value}.`, command)
    }
    flags[name] = next
    i++
  }
  return { command, flags }
}

function isCommand(value: string | undefined): value is Command {
  return (COMMANDS as readonly string[]).includes(value ?? '')
}

/** `--insecure=false`, for scripts that pass a variable: the YAML booleans the action's inputs take. */
function parseSwitch(name: string, value: string, command: Command): boolean {
  if (value.trim() === '')
    throw new UsageError(`--${name}= has no value: use --${name}=true or --${name}=false.`, command)
  try {
    return parseBoolean(value, name, false, FLAG_NAMING)
  } catch (error) {
    throw new UsageError((error as Error).message, command)
  }
}
