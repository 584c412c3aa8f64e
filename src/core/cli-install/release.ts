import { ConvoxError } from '../errors.ts'
import { parseJson } from '../http/json.ts'
import { serverText } from '../http/server-text.ts'
import type { Naming } from '../naming.ts'

/**
 * Where each Convox CLI build lives (docs/convox.md section 8) and how to tell a downloaded file
 * is one. Pure: install.ts does the I/O.
 */

export type CliGeneration = 'v2' | 'v3'

export const CLI_VERSION_V3 = /^\d+\.\d+\.\d+$/
export const CLI_VERSION_V2 = /^\d{14}$/

export interface CliAsset {
  generation: CliGeneration
  /** The file name in the release: `convox-linux-arm64` (v3), `convox.exe` (v2). */
  asset: string
  /** Go's name for the OS, as in v2's S3 paths: linux, darwin or windows. */
  os: string
  /** Its name in the tool cache, and so on PATH. */
  binary: 'convox' | 'convox.exe'
}

const ASSETS: Record<CliGeneration, Partial<Record<NodeJS.Platform, Record<string, string>>>> = {
  v3: {
    linux: { x64: 'convox-linux', arm64: 'convox-linux-arm64' },
    darwin: { x64: 'convox-macos', arm64: 'convox-macos-arm64' }
  },
  v2: {
    linux: { x64: 'convox', arm64: 'convox-arm64' },
    darwin: { x64: 'convox', arm64: 'convox-arm64' },
    // Windows 11 on Arm runs x64 programs under emulation, and v2 ships no arm64 build for Windows.
    win32: { x64: 'convox.exe', arm64: 'convox.exe' }
  }
}

const GO_OS: Partial<Record<NodeJS.Platform, string>> = { linux: 'linux', darwin: 'darwin', win32: 'windows' }
const PLATFORM_NAME: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'Linux',
  darwin: 'macOS',
  win32: 'Windows'
}

function platformName(platform: NodeJS.Platform): string {
  return PLATFORM_NAME[platform] ?? platform
}

/** `latest` means convox/convox's latest release, which is v3. */
export function cliGeneration(version: string): CliGeneration {
  if (version === 'latest' || CLI_VERSION_V3.test(version)) return 'v3'
  if (CLI_VERSION_V2.test(version)) return 'v2'
  throw new ConvoxError(
    `"${version}" is not a Convox CLI version: use latest, a v3 version such as 3.24.9 (without v), or a v2 version such as 20240101000000.`
  )
}

/**
 * The build of `version` for this runner, or the sentence that says there is none: decided before
 * any request, so `latest` (which is v3) on Windows costs none either.
 */
export function cliAsset(version: string, platform: NodeJS.Platform, arch: string, naming: Naming): CliAsset {
  const generation = cliGeneration(version)
  const builds = ASSETS[generation]
  const asset = builds[platform]?.[arch]
  if (asset) {
    return { generation, asset, os: GO_OS[platform]!, binary: platform === 'win32' ? 'convox.exe' : 'convox' }
  }
  if (generation === 'v3' && platform === 'win32') {
    throw new ConvoxError(
      `Convox CLI v3${version === 'latest' ? ' (latest)' : ''} has no Windows build: pin a v2 CLI with ` +
        `${naming.set('cli-version', '20240101000000')} (a 14-digit version listed at https://github.com/convox/rack/releases), ` +
        'or run this on Linux or macOS (a Linux runner, or WSL) to use v3.'
    )
  }
  const existing = Object.entries(builds).flatMap(([os, arches]) =>
    Object.keys(arches).map(a => `${platformName(os as NodeJS.Platform)} ${a}`)
  )
  throw new ConvoxError(
    `Convox CLI ${generation} has no build for ${platformName(platform)} ${arch}: it exists for ` +
      `${existing.slice(0, -1).join(', ')} and ${existing.at(-1)}.`
  )
}

/**
 * A mirror template gets `{version}`, `{asset}` (the release's file name, as in the official URL:
 * `convox-linux-arm64` for v3, `convox`, `convox-arm64` or `convox.exe` for v2) and `{os}`
 * (linux, darwin, windows), so one template can copy v2's S3 layout: `.../{version}/cli/{os}/{asset}`.
 */
export function cliDownloadUrl(version: string, asset: CliAsset, template?: string): string {
  if (template) {
    return template
      .replaceAll('{version}', version)
      .replaceAll('{asset}', asset.asset)
      .replaceAll('{os}', asset.os)
  }
  return asset.generation === 'v3'
    ? `https://github.com/convox/convox/releases/download/${version}/${asset.asset}`
    : `https://convox.s3.amazonaws.com/release/${version}/cli/${asset.os}/${asset.asset}`
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com'

export function latestReleaseUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/repos/convox/convox/releases/latest`
}

/** The exact version out of GitHub's answer, so the tool cache is keyed by a real version. */
export function latestTag(
  url: string,
  status: number,
  body: string,
  naming: Naming,
  rateLimitRemaining?: string
): string {
  const pin = `pin ${naming.ref('cli-version')} to a version such as 3.24.9`
  if (status === 200) {
    const tag = (parseJson(body) as { tag_name?: unknown } | undefined)?.tag_name
    if (typeof tag === 'string' && CLI_VERSION_V3.test(tag)) return tag
    throw new ConvoxError(
      `${url} did not name a v3 release (tag_name ${typeof tag === 'string' ? JSON.stringify(serverText(tag, [], 60)) : JSON.stringify(tag)?.slice(0, 60)}): ${pin}.`
    )
  }
  if (status === 401) {
    throw new ConvoxError(
      `${url} refused ${naming.ref('cli-token')} (HTTP 401): pass a valid token, such as ${naming.example('cli-token')}, or none.`
    )
  }
  if (status === 403 && rateLimitRemaining === '0') {
    throw new ConvoxError(
      `${url} answered HTTP 403, GitHub's API rate limit is used up: ` +
        (naming.has('cli-token')
          ? `pass ${naming.set('cli-token', naming.example('cli-token'))}, or ${pin}.`
          : `${pin}.`)
    )
  }
  throw new ConvoxError(`${url} answered HTTP ${status} instead of the latest release: ${pin}.`)
}

/**
 * Whether a status to the download means the file does not exist. S3 answers 403, not 404, for a
 * missing key when the bucket cannot be listed: on the official v2 bucket that is what it means.
 */
export function isMissingStatus(status: number, asset: CliAsset, mirror: boolean): boolean {
  return status === 404 || status === 410 || (status === 403 && asset.generation === 'v2' && !mirror)
}

/** An answer other than 200 to the download, in the words of the front end the user is in. */
export function downloadStatusError(
  url: string,
  status: number,
  version: string,
  asset: CliAsset,
  mirror: boolean,
  naming: Naming
): ConvoxError {
  if (!isMissingStatus(status, asset, mirror)) {
    return new ConvoxError(`Downloading the Convox CLI from ${url} failed: HTTP ${status}.`)
  }
  const hint = mirror
    ? `the mirror has no ${asset.asset} for ${version}; check ${naming.ref('cli-download-url')} and ${naming.ref('cli-version')}`
    : asset.generation === 'v3'
      ? 'pick a tag listed at https://github.com/convox/convox/releases; v3 tags have no v (3.24.9, not v3.24.9)'
      : 'v2 versions are the 14-digit tags listed at https://github.com/convox/rack/releases' +
        // v2 published arm64 builds only in its later releases.
        (asset.asset === 'convox-arm64'
          ? '; older ones have no arm64 build: pick a later one, or an x64 runner'
          : '')
  return new ConvoxError(`There is no Convox CLI ${version} at ${url} (HTTP ${status}): ${hint}.`)
}

export type ExecutableFormat = 'elf' | 'macho' | 'fat' | 'pe'

const FORMAT_OF: Partial<Record<NodeJS.Platform, ExecutableFormat[]>> = {
  linux: ['elf'],
  darwin: ['macho', 'fat'],
  win32: ['pe']
}

const FORMAT_NAME: Record<ExecutableFormat, string> = {
  elf: 'a Linux (ELF) executable',
  macho: 'a macOS (Mach-O) executable',
  fat: 'a macOS (universal Mach-O) executable',
  pe: 'a Windows executable'
}

/** Recognised by the first bytes; Mach-O in either byte order, since the magic is endian-specific. */
export function executableFormat(head: Uint8Array): ExecutableFormat | undefined {
  if (head.length < 4) return undefined
  const magic = Buffer.from(head.subarray(0, 4)).readUInt32BE(0)
  if (magic === 0x7f454c46) return 'elf'
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(magic)) return 'macho'
  if (magic === 0xcafebabe || magic === 0xbebafeca) return 'fat'
  if (head[0] === 0x4d && head[1] === 0x5a) return 'pe'
  return undefined
}

export function isHtml(head: Uint8Array): boolean {
  const text = Buffer.from(head.subarray(0, 1024))
    .toString('latin1')
    .replace(/^\xEF\xBB\xBF/, '')
  return /^\s*<(!doctype html|html|head|body|meta|title|script|!--)[\s>]/i.test(text)
}

type Read = (offset: number, bytes: 2 | 4 | 8) => number

/** A header field lies past the bytes read. */
class PastHead extends Error {}

function reader(head: Buffer, littleEndian: boolean): Read {
  return (offset, bytes) => {
    if (offset + bytes > head.length) throw new PastHead()
    if (bytes === 8) return Number(littleEndian ? head.readBigUInt64LE(offset) : head.readBigUInt64BE(offset))
    return littleEndian ? head.readUIntLE(offset, bytes) : head.readUIntBE(offset, bytes)
  }
}

/** Node's names (`process.arch`) for the machine fields of each format's header. */
const ELF_MACHINES: Record<number, string> = { 0x03: 'ia32', 0x28: 'arm', 0x3e: 'x64', 0xb7: 'arm64' }
const MACHO_CPUS: Record<number, string> = { 7: 'ia32', 12: 'arm', 0x01000007: 'x64', 0x0100000c: 'arm64' }
const PE_MACHINES: Record<number, string> = { 0x14c: 'ia32', 0x1c4: 'arm', 0x8664: 'x64', 0xaa64: 'arm64' }

/**
 * The processor an executable is built for, in `process.arch`'s names; undefined for a universal
 * Mach-O (which holds several), an unknown machine, or a header cut short. Only consulted to explain
 * why a binary did not run: an x64 build can run on an arm64 Mac (Rosetta) or under an emulator.
 */
export function executableArch(head: Buffer): string | undefined {
  try {
    const format = executableFormat(head)
    if (format === 'elf') return ELF_MACHINES[reader(head, head[5] === 1)(0x12, 2)]
    if (format === 'macho') return MACHO_CPUS[reader(head, head[0] === 0xce || head[0] === 0xcf)(4, 4)]
    if (format === 'pe') {
      const read = reader(head, true)
      return PE_MACHINES[read(read(0x3c, 4) + 4, 2)]
    }
  } catch (error) {
    if (!(error instanceof PastHead)) throw error
  }
  return undefined
}

/**
 * How long the file must be, from the tables its header points to: the ELF section header table,
 * the Mach-O segments, the fat slices, the PE sections. Each ends at or near the end of the file,
 * so a cut-off download is caught even when the server sent a matching Content-Length.
 * Throws PastHead when the header reaches past `head`.
 */
function declaredSize(head: Buffer, format: ExecutableFormat): number {
  if (format === 'elf') {
    const wide = head[4] === 2
    const read = reader(head, head[5] === 1)
    const [phoff, shoff, sizes] = wide
      ? [read(0x20, 8), read(0x28, 8), 0x36]
      : [read(0x1c, 4), read(0x20, 4), 0x2a]
    return Math.max(
      wide ? 64 : 52,
      phoff + read(sizes, 2) * read(sizes + 2, 2),
      shoff + read(sizes + 4, 2) * read(sizes + 6, 2)
    )
  }
  if (format === 'fat') {
    const read = reader(head, head[0] === 0xbe)
    const count = read(4, 4)
    let end = 8 + 20 * count
    for (let i = 0; i < count; i++) end = Math.max(end, read(8 + 20 * i + 8, 4) + read(8 + 20 * i + 12, 4))
    return end
  }
  if (format === 'macho') {
    const read = reader(head, head[0] === 0xce || head[0] === 0xcf)
    const wide = (read(0, 4) & 1) === 1
    let at = wide ? 32 : 28
    let end = at + read(20, 4)
    for (let i = read(16, 4); i > 0; i--) {
      const command = read(at, 4)
      if (command === 0x19) end = Math.max(end, read(at + 40, 8) + read(at + 48, 8))
      if (command === 0x1) end = Math.max(end, read(at + 32, 4) + read(at + 36, 4))
      const size = read(at + 4, 4)
      if (size < 8) break
      at += size
    }
    return end
  }
  const read = reader(head, true)
  const pe = read(0x3c, 4)
  const sections = read(pe + 6, 2)
  const table = pe + 24 + read(pe + 20, 2)
  let end = table + 40 * sections
  for (let i = 0; i < sections; i++)
    end = Math.max(end, read(table + 40 * i + 20, 4) + read(table + 40 * i + 16, 4))
  return end
}

/**
 * Whether a downloaded file is the CLI for this OS. `head` is the file's first bytes (the whole
 * file when it is small), `size` its length. Returns the error to raise, undefined when it is fine.
 */
export function checkExecutable(
  url: string,
  head: Buffer,
  size: number,
  platform: NodeJS.Platform,
  naming: Naming
): ConvoxError | undefined {
  const formats = FORMAT_OF[platform] ?? []
  const expected = formats[0] ? FORMAT_NAME[formats[0]] : `a ${platform} executable`
  if (isHtml(head)) {
    return new ConvoxError(
      `${url} sent an HTML page instead of the Convox CLI: use a URL that serves the raw executable ` +
        '(https://convox.com/cli/... serves a web page since 2022).'
    )
  }
  const format = executableFormat(head)
  if (!format) {
    const got = size
      ? `${size} bytes starting with ${Buffer.from(head.subarray(0, 8)).toString('hex')}`
      : 'an empty file'
    return new ConvoxError(`${url} sent ${got}, not ${expected}: use a URL that serves the raw executable.`)
  }
  if (!formats.includes(format)) {
    return new ConvoxError(
      `${url} sent ${FORMAT_NAME[format]}, not ${expected}: make ${naming.ref('cli-download-url')} pick the build with {asset} or {os}.`
    )
  }
  const truncated = (detail: string) =>
    new ConvoxError(
      `${url} sent a truncated file (${size} bytes, ${detail}): try again, or check the copy on the mirror.`
    )
  try {
    const declared = declaredSize(head, format)
    if (size < declared) return truncated(`its header needs ${declared}`)
  } catch (error) {
    if (!(error instanceof PastHead)) throw error
    // The header points past what was read: truncated if that was the whole file, else unknowable.
    if (head.length === size) return truncated('shorter than its own header')
  }
  return undefined
}
