import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Log } from '../../../src/core/log.ts'
import type { Journal } from '../../../src/core/settings/journal.ts'
import { newJournal, parseJournal } from '../../../src/core/settings/journal.ts'
import type { Edit } from '../../../src/core/settings/settings.ts'
import { formatKeyed } from '../../../src/core/settings/files.ts'
import { mode, read, snapshot } from '../../../test-support/settings-dir.ts'
import { ConvoxError } from '../../../src/core/errors.ts'
import { silentLog } from '../../../src/core/log.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import { checkSettings, undoSettings, writeSettings } from '../../../src/core/settings/settings.ts'

const silent = () => silentLog

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-settings-test-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshDir = () => path.join(root, `case-${++counter}`)

function collectingLog(): Log & { lines: string[]; warnings: string[] } {
  const lines: string[] = []
  const warnings: string[] = []
  return {
    lines,
    warnings,
    info: m => void lines.push(m),
    warning: m => void warnings.push(m),
    debug: () => undefined,
    secret: () => undefined,
    group: (_name, fn) => fn()
  }
}

const HOST = 'rack.example.com:5443'
const loginEdits = (password: string, host = HOST): Edit[] => [
  { file: 'auth', key: host, value: password },
  { file: 'host', value: host },
  { file: 'console', value: host },
  { file: 'rack', value: 'acme/production' },
  { file: 'racks', key: host, value: 'acme/production' },
  { file: 'current', value: JSON.stringify({ name: 'acme/production', type: 'console' }) }
]

/** Go: json.MarshalIndent(map[string]string{...}, "", "  "). */
describe('formatKeyed', () => {
  it('writes {} for an empty object, as Go does', () => {
    expect(formatKeyed({})).toBe('{}')
  })

  it('sorts keys, indents by two spaces, adds no trailing newline', () => {
    expect(formatKeyed({ 'b.example.com': '2', 'a.example.com': '1', '127.0.0.1:5443': '3' })).toBe(
      '{\n  "127.0.0.1:5443": "3",\n  "a.example.com": "1",\n  "b.example.com": "2"\n}'
    )
  })

  it("escapes <, > and & and the JS line separators as Go's HTML-safe encoder does", () => {
    expect(formatKeyed({ h: 'a<b>c&d\u2028e\u2029f' })).toBe(
      '{\n  "h": "a\\u003cb\\u003ec\\u0026d\\u2028e\\u2029f"\n}'
    )
  })

  it('escapes quotes, backslashes and control characters', () => {
    expect(formatKeyed({ 'q"k': 'back\\slash\n\u0001' })).toBe('{\n  "q\\"k": "back\\\\slash\\n\\u0001"\n}')
  })

  it('sorts as Go does, by bytes, also for integer-like keys', () => {
    // A JS object would list "9" before "10"; Go's sort.Strings puts "10" first.
    expect(formatKeyed({ '9': 'a', '10': 'b', x: 'c' })).toBe('{\n  "10": "b",\n  "9": "a",\n  "x": "c"\n}')
    // UTF-8 byte order (Go) differs from UTF-16 code unit order (JS <) above the BMP.
    expect(formatKeyed({ '\u{1F600}': 'a', '\uFF61': 'b' })).toBe(
      '{\n  "\uFF61": "b",\n  "\u{1F600}": "a"\n}'
    )
  })

  it('keeps a key named __proto__ as a plain entry', () => {
    const object = JSON.parse('{"__proto__": "x", "a": "y"}') as Record<string, string>
    expect(formatKeyed(object)).toBe('{\n  "__proto__": "x",\n  "a": "y"\n}')
  })

  it('reproduces a file written by the Go CLI byte for byte', () => {
    const go = '{\n  "console.convox.com": "tok\\u0026en",\n  "other.example.com": "x\\u003cy"\n}'
    expect(formatKeyed(JSON.parse(go) as Record<string, string>)).toBe(go)
  })
})

describe('checkSettings', () => {
  it('accepts an absent directory, an empty one and valid files', () => {
    const dir = freshDir()
    expect(() => checkSettings(dir, INPUT_NAMING)).not.toThrow()
    fs.mkdirSync(dir)
    expect(() => checkSettings(dir, INPUT_NAMING)).not.toThrow()
    fs.writeFileSync(path.join(dir, 'auth'), '{"a": "b"}\n')
    fs.writeFileSync(path.join(dir, 'racks'), '  ')
    fs.writeFileSync(path.join(dir, 'host'), 'a\n')
    expect(() => checkSettings(dir, INPUT_NAMING)).not.toThrow()
  })

  it.each([
    ['not json', 'auth'],
    ['[]', 'auth'],
    ['"text"', 'racks'],
    ['{"a": 1}', 'auth'],
    ['{"a": null}', 'racks'],
    ['null', 'auth']
  ])('refuses %j in %s', (content, file) => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, file), content)
    expect(() => checkSettings(dir, INPUT_NAMING)).toThrow(
      `${path.join(dir, file)} is not a JSON object of strings, so the Convox CLI cannot read it either`
    )
  })

  it.each(['auth', 'host', 'current'])('refuses a symbolic link named %s', name => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(root, `target-${counter}`), '{}')
    fs.symlinkSync(path.join(root, `target-${counter}`), path.join(dir, name))
    expect(() => checkSettings(dir, INPUT_NAMING)).toThrow(
      /is a symbolic link; refusing to write credentials through it/
    )
  })

  it('refuses a directory in place of a file', () => {
    const dir = freshDir()
    fs.mkdirSync(path.join(dir, 'console'), { recursive: true })
    expect(() => checkSettings(dir, INPUT_NAMING)).toThrow(/console is not a regular file/)
  })
  it("accepts racks as a directory: the v3 CLI's own", () => {
    const dir = freshDir()
    fs.mkdirSync(path.join(dir, 'racks', 'terraform-rack'), { recursive: true })
    expect(() => checkSettings(dir, INPUT_NAMING)).not.toThrow()
  })

  it('a config-dir through a regular file is one sentence naming it and the cause', () => {
    const file = freshDir() + '-file'
    fs.writeFileSync(file, '')
    const dir = path.join(file, 'convox')
    expect(() => checkSettings(dir, INPUT_NAMING)).toThrow(
      `Cannot read the Convox settings in ${dir}: a part of the path is a file, not a directory (${path.join(dir, 'auth')}); nothing was changed.`
    )
  })
})

describe('racks', () => {
  const switchEdits = (host = HOST): Edit[] => [
    { file: 'rack', value: 'acme/production' },
    { file: 'racks', key: host, value: 'acme/production', ifPresent: true }
  ]

  it('is not created when absent', () => {
    const dir = freshDir()
    writeSettings(switchEdits(), newJournal(dir), silent(), INPUT_NAMING)
    expect(fs.readdirSync(dir)).toEqual(['rack'])
  })

  it("a v2 file: this host's entry is switched, and undo puts the file back byte for byte", () => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    const before = `{"${HOST}":"acme/stale","other.example.com":"x/y"}\n`
    fs.writeFileSync(path.join(dir, 'racks'), before)
    const journal = newJournal(dir)
    writeSettings(switchEdits(), journal, silent(), INPUT_NAMING)
    expect(JSON.parse(read(dir, 'racks'))).toEqual({ [HOST]: 'acme/production', 'other.example.com': 'x/y' })
    undoSettings(journal, silent())
    expect(read(dir, 'racks')).toBe(before)
  })

  it('a v3 directory: left alone, whatever is in it', () => {
    const dir = freshDir()
    fs.mkdirSync(path.join(dir, 'racks', 'terraform-rack'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'racks', 'terraform-rack', 'main.tf'), 'x')
    const before = snapshot(dir)
    const journal = newJournal(dir)
    writeSettings(switchEdits(), journal, silent(), INPUT_NAMING)
    expect(journal.entries.map(e => e.file)).toEqual(['rack'])
    undoSettings(journal, silent())
    expect(snapshot(dir)).toEqual(before)
  })
})

describe('writeSettings: the journal is saved before the first write', () => {
  it('beforeWrite sees every change about to be made while the directory still holds none of them', () => {
    const dir = freshDir()
    const seen: Array<{ files: string[]; auth: boolean }> = []
    writeSettings(
      loginEdits('BeforeWriteKey123'),
      newJournal(dir),
      silent(),
      INPUT_NAMING,
      journal =>
        void seen.push({
          files: journal.entries.map(e => e.file),
          auth: fs.existsSync(path.join(dir, 'auth'))
        })
    )
    expect(seen).toEqual([{ files: ['auth', 'host', 'console', 'rack', 'racks', 'current'], auth: false }])
  })

  it('a beforeWrite that throws stops the write: nothing is written, a directory it made is removed', () => {
    const dir = path.join(freshDir(), 'nested')
    expect(() =>
      writeSettings(loginEdits('BeforeWriteKey123'), newJournal(dir), silent(), INPUT_NAMING, () => {
        throw new ConvoxError('cannot save the journal')
      })
    ).toThrow('cannot save the journal')
    expect(fs.existsSync(path.dirname(dir))).toBe(false)
  })

  it('is not called when there is nothing to change', () => {
    const dir = freshDir()
    writeSettings(loginEdits('SameKey123'), newJournal(dir), silent(), INPUT_NAMING)
    let calls = 0
    writeSettings(loginEdits('SameKey123'), newJournal(dir), silent(), INPUT_NAMING, () => void calls++)
    expect(calls).toBe(0)
  })
})

describe('parseJournal', () => {
  const dir = '/home/runner/.convox'
  const entry = { file: 'auth', key: 'h', before: null, created: true, afterSha256: 'abc' }
  const journal = (fields: object) => JSON.stringify({ dir, createdDirs: [], entries: [], ...fields })

  it('reads back a journal as saved', () => {
    const saved = {
      dir,
      createdDirs: ['/home/runner', dir],
      entries: [entry, { ...entry, file: 'host', key: undefined, before: 'x' }]
    }
    expect(parseJournal(JSON.stringify(saved))).toEqual(JSON.parse(JSON.stringify(saved)))
  })

  it.each([
    ['not JSON', '{"dir":'],
    ['null', 'null'],
    ['a relative dir', journal({ dir: 'convox' })],
    ['an unresolved dir', journal({ dir: '/a/../b' })],
    ['a created directory that is neither the dir nor a parent', journal({ createdDirs: ['/etc'] })],
    ['a created directory that only shares a prefix', journal({ createdDirs: ['/home/run'] })],
    [
      'an entry for a file that is not a setting',
      journal({ entries: [{ ...entry, file: '../../.bashrc' }] })
    ],
    ['an entry without a hash', journal({ entries: [{ ...entry, afterSha256: 1 }] })],
    ['an entry with a number for before', journal({ entries: [{ ...entry, before: 5 }] })]
  ])('refuses %s', (_what, text) => {
    expect(parseJournal(text)).toBeUndefined()
  })
})

describe('writeSettings and undoSettings', () => {
  it('creates the directories 0700 and the files 0600, and undo removes all of it', () => {
    const parent = freshDir()
    const dir = path.join(parent, 'nested', 'convox')
    const journal = newJournal(dir)
    const log = collectingLog()
    writeSettings(loginEdits('k3y&<x>'), journal, log, INPUT_NAMING)

    expect(journal.createdDirs).toEqual([parent, path.join(parent, 'nested'), dir])
    for (const d of journal.createdDirs) expect(mode(d)).toBe(0o700)
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'console', 'current', 'host', 'rack', 'racks'])
    for (const f of fs.readdirSync(dir)) expect(mode(path.join(dir, f))).toBe(0o600)
    expect(read(dir, 'auth')).toBe(`{\n  "${HOST}": "k3y\\u0026\\u003cx\\u003e"\n}`)
    expect(read(dir, 'racks')).toBe(`{\n  "${HOST}": "acme/production"\n}`)
    expect(read(dir, 'host')).toBe(HOST)
    expect(read(dir, 'current')).toBe('{"name":"acme/production","type":"console"}')
    expect(journal.entries.map(e => [e.file, e.key, e.before, e.created])).toEqual([
      ['auth', HOST, null, true],
      ['host', undefined, null, true],
      ['console', undefined, null, true],
      ['rack', undefined, null, true],
      ['racks', HOST, null, true],
      ['current', undefined, null, true]
    ])

    // The journal goes through a file between main and post.
    undoSettings(JSON.parse(JSON.stringify(journal)) as Journal, log)
    expect(fs.existsSync(parent)).toBe(false)
    expect(log.warnings).toEqual([])
  })

  it('merges into existing files and undo restores them byte for byte, however they were written', () => {
    const dir = freshDir()
    fs.mkdirSync(dir, { mode: 0o755 })
    // Not as Go writes them: compact, trailing newlines, a 0644 mode.
    fs.writeFileSync(path.join(dir, 'auth'), '{"other.example.com":"x&y", "b":"2"}\n', { mode: 0o644 })
    fs.writeFileSync(path.join(dir, 'racks'), '{\n    "other.example.com": "acme/old"\n}\n')
    fs.writeFileSync(path.join(dir, 'host'), 'other.example.com\n')
    fs.writeFileSync(path.join(dir, 'id'), 'user-1')
    const before = snapshot(dir)

    const journal = newJournal(dir)
    const log = collectingLog()
    writeSettings(loginEdits('NewKey'), journal, log, INPUT_NAMING)
    expect(read(dir, 'auth')).toBe(
      `{\n  "b": "2",\n  "other.example.com": "x\\u0026y",\n  "${HOST}": "NewKey"\n}`
    )
    expect(read(dir, 'racks')).toBe(
      `{\n  "other.example.com": "acme/old",\n  "${HOST}": "acme/production"\n}`
    )
    expect(mode(path.join(dir, 'auth'))).toBe(0o600)
    expect(read(dir, 'id')).toBe('user-1')

    undoSettings(JSON.parse(JSON.stringify(journal)) as Journal, log)
    const after = snapshot(dir)
    // Content byte for byte; the modes of rewritten files stay 0600, the safer choice.
    const contents = (s: typeof before) =>
      s === 'absent'
        ? s
        : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, 'content' in v ? v.content : v.type]))
    expect(contents(after)).toEqual(contents(before))
    expect(fs.existsSync(dir)).toBe(true)
    expect(log.warnings).toEqual([])
  })

  it('leaves a file that already holds what it would write alone, only re-chmodded, and undoes the chmod', () => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    const first = newJournal(dir)
    expect(writeSettings(loginEdits('SameKey'), first, collectingLog(), INPUT_NAMING)).toEqual([
      'auth',
      'host',
      'console',
      'rack',
      'racks',
      'current'
    ])
    fs.chmodSync(path.join(dir, 'host'), 0o644)
    fs.writeFileSync(path.join(dir, 'console'), 'elsewhere.example.com')
    const inodes = (name: string) => fs.statSync(path.join(dir, name)).ino
    const before = { auth: inodes('auth'), host: inodes('host') }

    const second = newJournal(dir)
    const log = collectingLog()
    expect(writeSettings(loginEdits('SameKey'), second, log, INPUT_NAMING)).toEqual(['console'])
    expect({ auth: inodes('auth'), host: inodes('host') }).toEqual(before) // not replaced
    expect(mode(path.join(dir, 'host'))).toBe(0o600)
    // auth was 0600 already: nothing to undo there. host was 0644: its mode comes back.
    expect(second.entries.map(e => [e.file, e.modeBefore])).toEqual([
      ['host', 0o644],
      ['console', undefined]
    ])

    undoSettings(second, log)
    expect(read(dir, 'console')).toBe('elsewhere.example.com')
    expect(read(dir, 'host')).toBe(HOST)
    expect(mode(path.join(dir, 'host'))).toBe(0o644)
    expect(log.warnings).toEqual([])
  })

  it('puts back the mode of every file it rewrote or removed: 0644 before a login is 0644 after the undo', () => {
    const dir = freshDir()
    fs.mkdirSync(dir, { mode: 0o755 })
    fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "OtherKey"\n}', { mode: 0o644 })
    fs.writeFileSync(path.join(dir, 'host'), 'other.example.com', { mode: 0o644 })
    fs.writeFileSync(path.join(dir, 'rack'), 'acme/old', { mode: 0o640 })
    fs.chmodSync(path.join(dir, 'auth'), 0o644)
    fs.chmodSync(path.join(dir, 'host'), 0o644)
    fs.chmodSync(path.join(dir, 'rack'), 0o640)
    const before = snapshot(dir)
    const journal = newJournal(dir)
    const log = collectingLog()
    writeSettings(
      [...loginEdits('NewKey').slice(0, 3), { file: 'rack', value: null }],
      journal,
      log,
      INPUT_NAMING
    )
    expect(mode(path.join(dir, 'auth'))).toBe(0o600)
    expect(mode(path.join(dir, 'host'))).toBe(0o600)
    expect(fs.existsSync(path.join(dir, 'rack'))).toBe(false)
    undoSettings(parseJournal(JSON.stringify(journal))!, log)
    expect(snapshot(dir)).toEqual(before)
    expect(log.warnings).toEqual([])
  })

  it("restores this host's previous value in a file that had it", () => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    const original = `{\n  "${HOST}": "OldKey",\n  "z.example.com": "z"\n}`
    fs.writeFileSync(path.join(dir, 'auth'), original)
    const journal = newJournal(dir)
    writeSettings([{ file: 'auth', key: HOST, value: 'NewKey' }], journal, collectingLog(), INPUT_NAMING)
    expect(journal.entries[0]).toMatchObject({ before: 'OldKey', created: false })
    undoSettings(journal, collectingLog())
    expect(read(dir, 'auth')).toBe(original)
  })

  it('keeps what a later step wrote, and removes only its own entries', () => {
    const dir = freshDir()
    const journal = newJournal(dir)
    writeSettings(loginEdits('MyKey'), journal, collectingLog(), INPUT_NAMING)
    // A later step logs into another host and changes the rack file.
    fs.writeFileSync(
      path.join(dir, 'auth'),
      formatKeyed({
        ...(JSON.parse(read(dir, 'auth')) as Record<string, string>),
        'later.example.com': 'LaterKey'
      })
    )
    fs.writeFileSync(path.join(dir, 'rack'), 'acme/staging')
    const log = collectingLog()
    undoSettings(journal, log)
    expect(fs.readdirSync(dir).sort()).toEqual(['auth', 'rack'])
    expect(read(dir, 'auth')).toBe('{\n  "later.example.com": "LaterKey"\n}')
    expect(read(dir, 'rack')).toBe('acme/staging')
    expect(log.lines).toContain(`${path.join(dir, 'rack')} was changed after this step; left as it is.`)
    expect(log.warnings).toEqual([])
  })

  it("leaves this host's entry alone when a later step changed it", () => {
    const dir = freshDir()
    const journal = newJournal(dir)
    writeSettings([{ file: 'auth', key: HOST, value: 'MyKey' }], journal, collectingLog(), INPUT_NAMING)
    fs.writeFileSync(path.join(dir, 'auth'), formatKeyed({ [HOST]: 'TheirKey' }))
    const log = collectingLog()
    undoSettings(journal, log)
    expect(read(dir, 'auth')).toBe(`{\n  "${HOST}": "TheirKey"\n}`)
    expect(log.lines.join('\n')).toMatch(/entry of .*auth was changed after this step/)
  })

  it('writing the same entry twice (a keyroll) keeps the value from before the first write', () => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'auth'), `{\n  "${HOST}": "Original"\n}`)
    const journal = newJournal(dir)
    writeSettings([{ file: 'auth', key: HOST, value: 'First' }], journal, collectingLog(), INPUT_NAMING)
    writeSettings([{ file: 'auth', key: HOST, value: 'Rolled' }], journal, collectingLog(), INPUT_NAMING)
    expect(journal.entries).toHaveLength(1)
    expect(journal.entries[0]!.before).toBe('Original')
    undoSettings(journal, collectingLog())
    expect(read(dir, 'auth')).toBe(`{\n  "${HOST}": "Original"\n}`)
  })

  it('two journals undone in reverse order bring the directory back', () => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'auth'), '{"keep.example.com":"k"}')
    const before = snapshot(dir)
    const first = newJournal(dir)
    const second = newJournal(dir)
    writeSettings(loginEdits('A', 'a.example.com').slice(0, 3), first, collectingLog(), INPUT_NAMING)
    writeSettings(loginEdits('B', 'b.example.com'), second, collectingLog(), INPUT_NAMING)
    undoSettings(second, collectingLog())
    expect(read(dir, 'host')).toBe('a.example.com')
    undoSettings(first, collectingLog())
    const contents = (s: typeof before) =>
      s === 'absent'
        ? s
        : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, 'content' in v ? v.content : v.type]))
    expect(contents(snapshot(dir))).toEqual(contents(before))
  })

  it('fails all or nothing: a write that fails half-way leaves the directory as it was', () => {
    const dir = freshDir()
    fs.mkdirSync(dir, { mode: 0o700 })
    fs.writeFileSync(path.join(dir, 'auth'), '{\n  "other.example.com": "x"\n}', { mode: 0o600 })
    fs.mkdirSync(path.join(dir, 'host')) // the second edit cannot be written
    const before = snapshot(dir)
    const journal = newJournal(dir)
    const log = collectingLog()
    expect(() => writeSettings(loginEdits('MyKey'), journal, log, INPUT_NAMING)).toThrow(
      /host is not a regular file/
    )
    expect(snapshot(dir)).toEqual(before)
    expect(journal).toEqual(newJournal(dir))
    expect(log.warnings).toEqual([])
  })

  it('fails all or nothing in a directory it created: the directory goes too', () => {
    const parent = freshDir()
    const dir = path.join(parent, 'convox')
    const journal = newJournal(dir)
    // Two files are written, then the third cannot be (its parent directory does not exist).
    const edits = [
      { file: 'auth', key: HOST, value: 'k' },
      { file: 'host', value: HOST },
      { file: 'missing/console', value: HOST }
    ] as Edit[]
    expect(() => writeSettings(edits, journal, collectingLog(), INPUT_NAMING)).toThrow(/ENOENT/)
    expect(fs.existsSync(parent)).toBe(false)
    expect(journal).toEqual(newJournal(dir))
  })

  it('refuses to write through a symbolic link and leaves its target alone', () => {
    const dir = freshDir()
    fs.mkdirSync(dir)
    const target = path.join(root, `elsewhere-${counter}`)
    fs.writeFileSync(target, '{"x": "y"}')
    fs.symlinkSync(target, path.join(dir, 'auth'))
    const before = snapshot(dir)
    expect(() => writeSettings(loginEdits('k'), newJournal(dir), collectingLog(), INPUT_NAMING)).toThrow(
      /symbolic link/
    )
    expect(snapshot(dir)).toEqual(before)
    expect(fs.readFileSync(target, 'utf8')).toBe('{"x": "y"}')
  })

  it('turns a problem during undo into a warning and carries on', () => {
    const dir = freshDir()
    const journal = newJournal(dir)
    writeSettings(loginEdits('k'), journal, collectingLog(), INPUT_NAMING)
    fs.writeFileSync(path.join(dir, 'racks'), 'broken by a later step')
    const log = collectingLog()
    expect(() => undoSettings(journal, log)).not.toThrow()
    expect(log.warnings).toEqual([expect.stringMatching(/^Could not restore .*racks: .*not a JSON object/)])
    expect(fs.readdirSync(dir)).toEqual(['racks'])
  })
})
