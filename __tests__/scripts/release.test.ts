import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { changelogSection, parseLsRemote, planMoves } from '../../scripts/release.ts'

/**
 * scripts/release.ts as the release workflow runs it: a child process in a throwaway git
 * repository (git init in a temp dir, commits, tags) with a bare repository as its `origin`, so
 * the tags it reads and moves are a remote's, as on GitHub.
 */

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/release.ts')
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-release-'))
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }))

const CHANGELOG = (versions: string[]) =>
  [
    '# Changelog',
    '',
    '## [Unreleased]',
    '',
    ...versions.flatMap(v => [`## [${v}] - 2026-12-03`, '', `### Added`, '', `- What ${v} brings.`, '']),
    ...versions.map(v => `[${v}]: https://github.com/convox-login/convox-login/releases/tag/v${v}`),
    ''
  ].join('\n')

let repos = 0
function repository() {
  const root = path.join(temp, `repo-${++repos}`)
  const work = path.join(root, 'work')
  const origin = path.join(root, 'origin.git')
  fs.mkdirSync(work, { recursive: true })
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: work,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: root,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.com'
      }
    }).trim()
  execFileSync('git', ['init', '-q', '--bare', origin])
  git('init', '-q', '-b', 'main')
  git('remote', 'add', 'origin', origin)
  /** Commits version `v` with a CHANGELOG listing `changelog`, tags it (annotated) and pushes both. */
  const release = (v: string, changelog: string[] = [v], tag = `v${v}`) => {
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'x', version: v }) + '\n')
    fs.writeFileSync(path.join(work, 'CHANGELOG.md'), CHANGELOG(changelog))
    fs.mkdirSync(path.join(work, 'dist'), { recursive: true })
    fs.writeFileSync(path.join(work, 'dist', 'index.cjs'), `// ${v}\n`)
    git('add', '-A')
    git('commit', '-q', '-m', `Release ${v}`)
    git('tag', '-a', '-m', tag, tag)
    git('push', '-q', 'origin', 'main', tag)
    return git('rev-parse', 'HEAD')
  }
  const script = (...args: string[]) => {
    const result = spawnSync(process.execPath, [SCRIPT, ...args], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: root, GIT_CONFIG_NOSYSTEM: '1' }
    })
    return { code: result.status, stdout: result.stdout, stderr: result.stderr }
  }
  const remoteTag = (tag: string) => {
    const out = execFileSync('git', ['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`], {
      cwd: origin,
      encoding: 'utf8'
    })
    return out.trim()
  }
  return { work, git, release, script, remoteTag }
}

/** One sentence: a single line that ends in a full stop, naming the fix after the colon. */
function expectOneSentence(stderr: string, ...parts: string[]) {
  const line = stderr.trim()
  expect(line.split('\n')).toHaveLength(1)
  expect(line).toMatch(/^\S.*: .*\.$/)
  for (const part of parts) expect(line).toContain(part)
}

describe('release.ts check', () => {
  it('accepts a tag that matches package.json, has a CHANGELOG section and a committed dist/', () => {
    const repo = repository()
    const commit = repo.release('1.0.0')
    const result = repo.script('check', 'v1.0.0')
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(result.stdout).toContain(`will move v1: (new) -> ${commit.slice(0, 12)}`)
    expect(result.stdout).toContain(`will move v1.0: (new) -> ${commit.slice(0, 12)}`)
  })

  it('refuses a tag that does not match package.json', () => {
    const repo = repository()
    repo.release('1.2.3', ['1.2.3', '1.2.4'], 'v1.2.4')
    const result = repo.script('check', 'v1.2.4')
    expect(result.code).toBe(1)
    expectOneSentence(result.stderr, 'v1.2.4', "package.json's version 1.2.3", 'set "version" to 1.2.4')
  })

  it('refuses a tag that is not vX.Y.Z', () => {
    const repo = repository()
    repo.release('1.0.0')
    const result = repo.script('check', 'v1.0')
    expect(result.code).toBe(1)
    expectOneSentence(result.stderr, 'form vX.Y.Z')
  })

  it('refuses a version without a CHANGELOG section', () => {
    const repo = repository()
    repo.release('1.1.0', ['1.0.0'])
    const result = repo.script('check', 'v1.1.0')
    expect(result.code).toBe(1)
    expectOneSentence(result.stderr, 'CHANGELOG.md has no "## [1.1.0]" section', 'add one')
  })

  it('refuses a dirty dist/, changed or new', () => {
    const repo = repository()
    repo.release('1.0.0')
    fs.writeFileSync(path.join(repo.work, 'dist', 'index.cjs'), '// rebuilt from other sources\n')
    const changed = repo.script('check', 'v1.0.0')
    expect(changed.code).toBe(1)
    expectOneSentence(changed.stderr, 'dist/index.cjs', 'npm run build, commit dist/')
    repo.git('checkout', '--', 'dist')
    fs.writeFileSync(path.join(repo.work, 'dist', 'stray.cjs'), '')
    expect(repo.script('dist').code).toBe(1)
    fs.rmSync(path.join(repo.work, 'dist', 'stray.cjs'))
    expect(repo.script('dist')).toMatchObject({ code: 0, stdout: 'dist/ is what is committed.\n' })
  })

  it('refuses a major tag that would move backwards, before anything is published', () => {
    const repo = repository()
    const older = repo.release('1.2.0')
    expect(repo.script('move-tags', 'v1.2.0').code).toBe(0)
    const newer = repo.release('1.3.0', ['1.2.0', '1.3.0'])
    expect(repo.script('move-tags', 'v1.3.0').code).toBe(0)
    repo.git('checkout', '-q', 'v1.2.0')
    repo.release('1.2.1', ['1.2.0', '1.2.1'])
    const result = repo.script('check', 'v1.2.1')
    expect(result.code).toBe(1)
    expectOneSentence(result.stderr, 'v1 points at v1.3.0, newer than v1.2.1', 'version above v1.3.0')
    // move-tags refuses the same way and leaves the remote's tags where they were.
    expect(repo.script('move-tags', 'v1.2.1').code).toBe(1)
    expect(repo.remoteTag('v1')).toBe(newer)
    expect(repo.remoteTag('v1.2')).toBe(older)
  })
})

describe('release.ts notes', () => {
  it('prints the version section of the CHANGELOG, without its heading or the next one', () => {
    const repo = repository()
    repo.release('1.1.0', ['1.1.0', '1.0.0'])
    const result = repo.script('notes', 'v1.1.0')
    expect(result).toMatchObject({ code: 0, stdout: '### Added\n\n- What 1.1.0 brings.\n' })
  })
})

describe('release.ts move-tags', () => {
  it('moves vX and vX.Y on the remote to the release commit, forward from the last release', () => {
    const repo = repository()
    const first = repo.release('1.0.0')
    expect(repo.script('move-tags', 'v1.0.0').stdout).toContain('moved v1: (new)')
    expect([repo.remoteTag('v1'), repo.remoteTag('v1.0')]).toEqual([first, first])
    const second = repo.release('1.1.0', ['1.0.0', '1.1.0'])
    const result = repo.script('move-tags', 'v1.1.0')
    expect(result.stdout).toContain(`moved v1: ${first.slice(0, 12)} -> ${second.slice(0, 12)}`)
    expect([repo.remoteTag('v1'), repo.remoteTag('v1.1'), repo.remoteTag('v1.0')]).toEqual([
      second,
      second,
      first
    ])
    // Running the release again (a re-run workflow) moves nothing anywhere new.
    expect(repo.script('move-tags', 'v1.1.0').code).toBe(0)
    expect(repo.remoteTag('v1')).toBe(second)
  })

  it('refuses an unknown command in one sentence', () => {
    const result = repository().script('publish')
    expect(result.code).toBe(1)
    expectOneSentence(result.stderr, 'check, notes, dist or move-tags')
  })
})

describe('the pure parts', () => {
  it('reads a Keep a Changelog section, and nothing for an empty one', () => {
    const text = '## [2.0.0]\n\n## [1.0.0] - 2026-01-01\nFirst.\n\n[1.0.0]: https://example.com\n'
    expect(changelogSection(text, '1.0.0')).toBe('First.')
    expect(changelogSection(text, '2.0.0')).toBeUndefined()
    expect(changelogSection(text, '1.0')).toBeUndefined()
    expect(changelogSection('## [1.0.0x]\nNo.\n', '1.0.0')).toBeUndefined()
  })

  it('peels annotated tags from ls-remote', () => {
    const a = 'a'.repeat(40)
    const b = 'b'.repeat(40)
    expect(parseLsRemote(`${a}\trefs/tags/v1.0.0\n${b}\trefs/tags/v1.0.0^{}\n`)).toEqual(
      new Map([['v1.0.0', b]])
    )
  })

  it('moves a floating tag that points at no version tag, and to the same release again', () => {
    const c = 'c'.repeat(40)
    const d = 'd'.repeat(40)
    const tags = new Map([
      ['v2', c],
      ['v2.0.0', d]
    ])
    expect(planMoves([2, 0, 0], d, tags)).toEqual([
      { tag: 'v2', from: c, to: d },
      { tag: 'v2.0', from: undefined, to: d }
    ])
    expect(() =>
      planMoves(
        [2, 0, 0],
        d,
        new Map([
          ['v2', c],
          ['v2.1.0', c]
        ])
      )
    ).toThrow(/v2 points at v2.1.0/)
  })
})
