import type { BasicUser } from '../core/credential.ts'

/**
 * Which login the Convox CLIs would use, from the environment and the settings files, by their
 * own order (docs/convox.md, the settings directory and the variables): RACK_URL beats everything;
 * CONVOX_HOST beats the console and host files, CONVOX_PASSWORD the auth entry; CONVOX_RACK beats
 * racks, rack and current. Pure: status-command.ts reads the files and prints. Never holds a key,
 * only where it comes from.
 */

/** What the settings directory holds that decides a login; the keys stay there, only their hosts come here. */
export interface SettingsView {
  console?: string
  host?: string
  /** The hosts `auth` has an entry for. */
  authHosts: string[]
  /** v2's racks file: host to org/rack. */
  racks: Record<string, string>
  rack?: string
  /** v3's current rack, from `current`'s name. */
  current?: string
}

export interface StatusEnv {
  /** RACK_URL, parsed: its host and user; the key stays out. */
  rackUrl?: { host: string; user: BasicUser }
  convoxHost?: string
  hasPassword: boolean
  convoxRack?: string
}

/** A value and where it came from; `over` says what it beats (a variable over a file). */
export interface Source {
  value: string
  from: string
  over: string[]
}

export interface Status {
  host?: Source
  /** Where the key comes from; never the key. */
  key?: Source & { user: BasicUser }
  rack?: Source
  /** RACK_URL targets a rack directly: the kind is known without asking. */
  kind?: 'rack'
}

export function resolveStatus(env: StatusEnv, files: SettingsView): Status {
  const fileHost = files.console ?? files.host
  const hostFiles = [
    files.console !== undefined && `console file: ${files.console}`,
    files.host !== undefined && files.host !== files.console && `host file: ${files.host}`
  ].filter((x): x is string => typeof x === 'string')

  if (env.rackUrl) {
    const { host, user } = env.rackUrl
    return {
      host: {
        value: host,
        from: 'RACK_URL',
        over: [env.convoxHost !== undefined ? `CONVOX_HOST: ${env.convoxHost}` : '', ...hostFiles].filter(
          Boolean
        )
      },
      key: {
        value: 'set',
        from: 'RACK_URL',
        user,
        over: [
          env.hasPassword ? 'CONVOX_PASSWORD' : '',
          ...files.authHosts.map(h => `auth entry for ${h}`)
        ].filter(Boolean)
      },
      rack: {
        value: host,
        from: 'RACK_URL (the rack at that host, directly)',
        over: [
          env.convoxRack !== undefined ? `CONVOX_RACK: ${env.convoxRack}` : '',
          ...rackFiles(files, host).map(f => `${f.name}: ${f.value}`)
        ].filter(Boolean)
      },
      kind: 'rack'
    }
  }

  const host: Source | undefined =
    env.convoxHost !== undefined
      ? { value: env.convoxHost, from: 'CONVOX_HOST', over: hostFiles }
      : fileHost !== undefined
        ? {
            value: fileHost,
            from: files.console !== undefined ? 'the console file' : 'the host file',
            over: hostFiles.slice(1)
          }
        : undefined
  const authEntry = host && files.authHosts.includes(host.value)
  const key: Status['key'] = env.hasPassword
    ? {
        value: 'set',
        from: 'CONVOX_PASSWORD',
        user: 'convox',
        over: authEntry ? [`auth entry for ${host.value}`] : []
      }
    : authEntry
      ? { value: 'set', from: `the auth entry for ${host.value}`, user: 'convox', over: [] }
      : undefined
  const fromFiles = rackFiles(files, host?.value)
  const described = fromFiles.map(f => `${f.name}: ${f.value}`)
  const rack: Source | undefined =
    env.convoxRack !== undefined
      ? { value: env.convoxRack, from: 'CONVOX_RACK', over: described }
      : fromFiles[0] && { value: fromFiles[0].value, from: fromFiles[0].name, over: described.slice(1) }
  return { host, key, rack }
}

/** The rack files in the order the CLIs read them: v2 racks[host], then rack (both), then v3's current. */
function rackFiles(files: SettingsView, host: string | undefined): Array<{ name: string; value: string }> {
  const found: Array<{ name: string; value: string }> = []
  if (host !== undefined && files.racks[host] !== undefined)
    found.push({ name: `racks entry for ${host}`, value: files.racks[host] })
  if (files.rack !== undefined) found.push({ name: 'rack file', value: files.rack })
  if (files.current !== undefined) found.push({ name: 'current file', value: files.current })
  return found
}

/** One line per fact, `name  value (from; over ...)`; control characters shown as `?`. */
export function renderStatus(
  status: Status,
  extra: { configDir: Source; kind?: string; undo: string }
): string {
  const line = (name: string, source: Source | undefined, none: string) => {
    const detail = source
      ? `${source.value} (${source.from}${source.over.length ? `; over ${source.over.join(', ')}` : ''})`
      : none
    return `${name.padEnd(12)}${printable(detail)}`
  }
  const key = status.key && { ...status.key, value: `set, user ${status.key.user}, not shown` }
  return [
    line('config dir', extra.configDir, ''),
    line('host', status.host, 'none (no RACK_URL, CONVOX_HOST, console or host file)'),
    line(
      'key',
      key,
      `none${status.host ? ` for ${status.host.value}` : ''} (no RACK_URL, CONVOX_PASSWORD or auth entry)`
    ),
    line('rack', status.rack, 'none'),
    `${'kind'.padEnd(12)}${printable(extra.kind ?? (status.kind ? `${status.kind} (RACK_URL)` : 'not checked (--validate asks the API)'))}`,
    `${'undo record'.padEnd(12)}${printable(extra.undo)}`
  ]
    .map(l => `${l}\n`)
    .join('')
}

/** Settings files are text anyone could have written: no escape sequence reaches the terminal. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?')
}
