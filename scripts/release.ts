// The release's decisions, for .github/workflows/release.yml to call (docs/releasing.md): whether a
// version tag may be released, its notes, and where the major and minor tags move. Each refusal is
// one sentence naming what to fix, and comes before anything is published.
//
//   node scripts/release.ts check vX.Y.Z [remote]      tag, package.json, CHANGELOG, dist/, tag moves
//   node scripts/release.ts notes vX.Y.Z               the CHANGELOG section, for the GitHub release
//   node scripts/release.ts dist                       dist/ is what is committed
//   node scripts/release.ts move-tags vX.Y.Z [remote]  pushes vX and vX.Y to the release commit
//
// It runs in the repository it is started in (the working directory), so its tests run it in a
// throwaway one.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export type Version = readonly [number, number, number]

/** A refusal: its message is the one sentence the maintainer reads. */
export class Refusal extends Error {}

export function parseTag(tag: string): Version {
  const match = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(tag)
  if (!match) {
    throw new Refusal(`"${tag}" is not a release tag: push a tag of the form vX.Y.Z, such as v1.2.3.`)
  }
  return [Number(match[1]), Number(match[2]), Number(match[3])]
}

export function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

const show = (v: Version) => `v${v.join('.')}`

/**
 * The body of `## [X.Y.Z]` in a Keep a Changelog file (a date or nothing may follow the heading),
 * up to the next `## ` heading or the link definitions at the end; undefined when missing or empty.
 */
export function changelogSection(changelog: string, version: string): string | undefined {
  const lines = changelog.split(/\r?\n/)
  const heading = new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\](\\s|$)`)
  const start = lines.findIndex(line => heading.test(line))
  if (start < 0) return undefined
  const rest = lines.slice(start + 1)
  const end = rest.findIndex(line => line.startsWith('## ') || /^\[[^\]]+\]:\s/.test(line))
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim()
  return body || undefined
}

/** A remote's tags: name to the commit it points at (annotated tags peeled). */
export type Tags = ReadonlyMap<string, string>

export function parseLsRemote(output: string): Tags {
  const tags = new Map<string, string>()
  const peeled = new Map<string, string>()
  for (const line of output.split('\n')) {
    const match = /^([0-9a-f]{40,64})\trefs\/tags\/(.+?)(\^\{\})?$/.exec(line)
    if (match) (match[3] ? peeled : tags).set(match[2]!, match[1]!)
  }
  for (const [name, commit] of peeled) tags.set(name, commit)
  return tags
}

export interface Move {
  tag: string
  from?: string
  to: string
}

/**
 * Where `vX` and `vX.Y` go for a release of `version` at `commit`. A floating tag only moves
 * forward: users who follow `v1` must never be handed an older release than the one they had, so
 * a tag that now points at a release newer than this one is a refusal, not a silent skip.
 */
export function planMoves(version: Version, commit: string, tags: Tags): Move[] {
  const floating = [`v${version[0]}`, `v${version[0]}.${version[1]}`]
  return floating.map(tag => {
    const from = tags.get(tag)
    const there = [...tags]
      .filter(([name, at]) => at === from && /^v\d+\.\d+\.\d+$/.test(name))
      .map(([name]) => parseTag(name))
      .sort(compare)
      .at(-1)
    if (there && compare(there, version) > 0) {
      throw new Refusal(
        `${tag} points at ${show(there)}, newer than ${show(version)}, and a floating tag never moves back: ` +
          `release ${show(version)}'s fix as a version above ${show(there)}.`
      )
    }
    return { tag, from, to: commit }
  })
}

function git(args: string[], cwd: string): string {
  // trimEnd: `git status --porcelain` starts a line with a space that says what changed.
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd()
}

function remoteTags(remote: string, cwd: string): Tags {
  return parseLsRemote(git(['ls-remote', '--tags', remote], cwd))
}

function tagCommit(tag: string, cwd: string): string {
  try {
    return git(['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`], cwd)
  } catch {
    throw new Refusal(
      `There is no tag ${tag} here: fetch the tags (git fetch --tags) or create ${tag} first.`
    )
  }
}

/** dist/ as committed: a build that changes it means the commit carries bundles of other sources. */
export function checkDist(cwd: string): void {
  const changed = git(['status', '--porcelain', '--untracked-files=all', '--', 'dist'], cwd)
  if (changed) {
    const first = changed.split('\n')[0]!.slice(3)
    throw new Refusal(
      `dist/ differs from what is committed (${first}): run npm ci && npm run build, commit dist/, and tag that commit.`
    )
  }
}

export function checkRelease(tag: string, cwd: string, remote: string): Move[] {
  const version = parseTag(tag)
  const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { version?: string }
  if (`v${pkg.version}` !== tag) {
    throw new Refusal(
      `The tag ${tag} does not match package.json's version ${pkg.version}: set "version" to ${tag.slice(1)}, commit, and tag that commit.`
    )
  }
  notes(tag, cwd)
  checkDist(cwd)
  return planMoves(version, tagCommit(tag, cwd), remoteTags(remote, cwd))
}

export function notes(tag: string, cwd: string): string {
  const version = parseTag(tag).join('.')
  const file = path.join(cwd, 'CHANGELOG.md')
  const section = fs.existsSync(file) ? changelogSection(fs.readFileSync(file, 'utf8'), version) : undefined
  if (!section) {
    throw new Refusal(
      `CHANGELOG.md has no "## [${version}]" section with text in it: add one that says what ${tag} changes, commit, and tag that commit.`
    )
  }
  return section
}

export function moveTags(tag: string, cwd: string, remote: string): Move[] {
  const moves = planMoves(parseTag(tag), tagCommit(tag, cwd), remoteTags(remote, cwd))
  // One push for both, forced because moving is the point; atomic so they never split.
  git(['push', '--atomic', '--force', remote, ...moves.map(m => `${m.to}:refs/tags/${m.tag}`)], cwd)
  return moves
}

const describeMove = (m: Move) =>
  `${m.tag}: ${m.from ? m.from.slice(0, 12) : '(new)'} -> ${m.to.slice(0, 12)}`

function main(argv: string[]): void {
  const [command, tag = '', remote = 'origin'] = argv
  const cwd = process.cwd()
  switch (command) {
    case 'check':
      for (const move of checkRelease(tag, cwd, remote)) console.log(`will move ${describeMove(move)}`)
      console.log(`${tag} can be released.`)
      return
    case 'notes':
      console.log(notes(tag, cwd))
      return
    case 'dist':
      checkDist(cwd)
      console.log('dist/ is what is committed.')
      return
    case 'move-tags':
      for (const move of moveTags(tag, cwd, remote)) console.log(`moved ${describeMove(move)}`)
      return
    default:
      throw new Refusal(
        `Unknown command "${command ?? ''}": use check, notes, dist or move-tags (scripts/release.ts says what each does).`
      )
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof Refusal)) throw error
    console.error(error.message)
    process.exitCode = 1
  }
}
