import { describe, expect, it } from '@jest/globals'
import {
  checkExecutable,
  cliAsset,
  cliDownloadUrl,
  cliGeneration,
  downloadStatusError,
  executableArch,
  executableFormat,
  isHtml,
  latestReleaseUrl,
  latestTag
} from '../../../src/core/cli-install/release.ts'
import { fakeCli, otherArch, realExecutable } from '../../../test-support/fake-cli.ts'
import { HTML_PAGE } from '../../../test-support/fake-mirror.ts'
import { INPUT_NAMING } from '../../../src/action/naming.ts'
import { FLAG_NAMING } from '../../../src/cli/args.ts'

const URL = 'https://mirror.example.com/convox/3.24.9/convox-linux'

describe('cliAsset and cliDownloadUrl', () => {
  it.each([
    ['3.24.9', 'linux', 'x64', 'https://github.com/convox/convox/releases/download/3.24.9/convox-linux'],
    [
      '3.24.9',
      'linux',
      'arm64',
      'https://github.com/convox/convox/releases/download/3.24.9/convox-linux-arm64'
    ],
    ['3.24.9', 'darwin', 'x64', 'https://github.com/convox/convox/releases/download/3.24.9/convox-macos'],
    [
      '3.24.9',
      'darwin',
      'arm64',
      'https://github.com/convox/convox/releases/download/3.24.9/convox-macos-arm64'
    ],
    [
      '20240101000000',
      'linux',
      'x64',
      'https://convox.s3.amazonaws.com/release/20240101000000/cli/linux/convox'
    ],
    [
      '20240101000000',
      'linux',
      'arm64',
      'https://convox.s3.amazonaws.com/release/20240101000000/cli/linux/convox-arm64'
    ],
    [
      '20240101000000',
      'darwin',
      'x64',
      'https://convox.s3.amazonaws.com/release/20240101000000/cli/darwin/convox'
    ],
    [
      '20240101000000',
      'darwin',
      'arm64',
      'https://convox.s3.amazonaws.com/release/20240101000000/cli/darwin/convox-arm64'
    ],
    [
      '20240101000000',
      'win32',
      'x64',
      'https://convox.s3.amazonaws.com/release/20240101000000/cli/windows/convox.exe'
    ],
    // No arm64 build for Windows: Windows 11 on Arm runs the x64 one under emulation.
    [
      '20240101000000',
      'win32',
      'arm64',
      'https://convox.s3.amazonaws.com/release/20240101000000/cli/windows/convox.exe'
    ]
  ] as const)('%s on %s %s -> %s', (version, platform, arch, url) => {
    expect(cliDownloadUrl(version, cliAsset(version, platform, arch, INPUT_NAMING))).toBe(url)
  })

  it.each([
    ['3.24.9', 'x64', INPUT_NAMING, 'v3', 'cli-version: 20240101000000'],
    ['latest', 'x64', INPUT_NAMING, 'v3 (latest)', 'cli-version: 20240101000000'],
    ['3.24.9', 'arm64', FLAG_NAMING, 'v3', '--version 20240101000000'],
    ['latest', 'arm64', FLAG_NAMING, 'v3 (latest)', '--version 20240101000000']
  ] as const)('refuses %s on Windows %s in the front end words', (version, arch, naming, what, pin) => {
    expect(() => cliAsset(version, 'win32', arch, naming)).toThrow(
      `Convox CLI ${what} has no Windows build: pin a v2 CLI with ${pin} (a 14-digit version listed at ` +
        'https://github.com/convox/rack/releases), or run this on Linux or macOS (a Linux runner, or WSL) to use v3.'
    )
  })

  it('names the binary convox.exe on Windows only', () => {
    expect(cliAsset('20240101000000', 'win32', 'x64', INPUT_NAMING).binary).toBe('convox.exe')
    expect(cliAsset('20240101000000', 'linux', 'x64', INPUT_NAMING).binary).toBe('convox')
    expect(cliAsset('3.24.9', 'darwin', 'arm64', INPUT_NAMING).binary).toBe('convox')
  })

  it('treats latest as v3', () => {
    expect(cliGeneration('latest')).toBe('v3')
    expect(cliAsset('latest', 'linux', 'arm64', INPUT_NAMING).asset).toBe('convox-linux-arm64')
  })

  it.each([
    [
      '3.24.9',
      'linux',
      'ia32',
      /^Convox CLI v3 has no build for Linux ia32: it exists for Linux x64, Linux arm64, macOS x64 and macOS arm64\.$/
    ],
    ['3.24.9', 'freebsd', 'x64', /no build for freebsd x64: it exists for Linux x64/],
    [
      '20240101000000',
      'win32',
      'ia32',
      /^Convox CLI v2 has no build for Windows ia32: it exists for Linux x64, Linux arm64, macOS x64, macOS arm64, Windows x64 and Windows arm64\.$/
    ],
    ['v3.24.9', 'linux', 'x64', /"v3.24.9" is not a Convox CLI version: .*without v/],
    ['../../etc', 'linux', 'x64', /is not a Convox CLI version/]
  ] as const)('refuses %s on %s %s, naming what exists', (version, platform, arch, message) => {
    expect(() => cliAsset(version, platform, arch, INPUT_NAMING)).toThrow(message)
  })

  it.each([
    [
      'https://m.example.com/convox/{version}/{asset}',
      '3.24.9',
      'linux',
      'x64',
      'https://m.example.com/convox/3.24.9/convox-linux'
    ],
    [
      'https://m.example.com/release/{version}/cli/{os}/{asset}',
      '20240101000000',
      'win32',
      'x64',
      'https://m.example.com/release/20240101000000/cli/windows/convox.exe'
    ],
    [
      'https://m.example.com/{os}/{asset}-{version}',
      '3.1.0',
      'darwin',
      'arm64',
      'https://m.example.com/darwin/convox-macos-arm64-3.1.0'
    ],
    [
      'https://m.example.com/{version}/{version}/{asset}',
      '3.1.0',
      'linux',
      'arm64',
      'https://m.example.com/3.1.0/3.1.0/convox-linux-arm64'
    ]
  ] as const)('fills the mirror template %s', (template, version, platform, arch, url) => {
    expect(cliDownloadUrl(version, cliAsset(version, platform, arch, INPUT_NAMING), template)).toBe(url)
  })
})

describe('latest', () => {
  it('asks the API base it is given', () => {
    expect(latestReleaseUrl('https://api.github.com')).toBe(
      'https://api.github.com/repos/convox/convox/releases/latest'
    )
    expect(latestReleaseUrl('https://ghe.example.com/api/v3/')).toBe(
      'https://ghe.example.com/api/v3/repos/convox/convox/releases/latest'
    )
  })

  const api = latestReleaseUrl('https://api.github.com')

  it('returns the exact tag', () => {
    expect(latestTag(api, 200, JSON.stringify({ tag_name: '3.24.9', name: 'x' }), INPUT_NAMING)).toBe(
      '3.24.9'
    )
  })

  it.each([
    [
      200,
      '{"tag_name":"v3.24.9"}',
      undefined,
      /did not name a v3 release \(tag_name "v3.24.9"\): pin cli-version/
    ],
    [200, 'not json', undefined, /did not name a v3 release \(tag_name undefined\)/],
    [401, '{"message":"Bad credentials"}', undefined, /refused cli-token \(HTTP 401\)/],
    [
      403,
      '{"message":"API rate limit exceeded"}',
      '0',
      /HTTP 403, GitHub's API rate limit is used up: pass cli-token: \$\{\{ github.token \}\}/
    ],
    [404, '{"message":"Not Found"}', undefined, /answered HTTP 404 instead of the latest release/]
  ])('explains HTTP %i', (status, body, remaining, message) => {
    expect(() => latestTag(api, status, body, INPUT_NAMING, remaining)).toThrow(message)
    expect(() => latestTag(api, status, body, INPUT_NAMING, remaining)).toThrow(api)
  })
})

describe('downloadStatusError', () => {
  const v3 = cliAsset('3.99.0', 'linux', 'x64', INPUT_NAMING)
  const v2 = cliAsset('20240101000000', 'linux', 'x64', INPUT_NAMING)

  it.each([
    [
      404,
      '3.99.0',
      v3,
      false,
      /^There is no Convox CLI 3\.99\.0 at \S+ \(HTTP 404\): pick a tag listed at .*convox\/convox\/releases; v3 tags have no v/
    ],
    [
      404,
      '20240101000000',
      v2,
      false,
      /\(HTTP 404\): v2 versions are the 14-digit tags listed at https:\/\/github.com\/convox\/rack\/releases\.$/
    ],
    [403, '20240101000000', v2, false, /^There is no Convox CLI 20240101000000 at \S+ \(HTTP 403\)/],
    ...(['linux', 'darwin'] as const).map(
      platform =>
        [
          403,
          '20160101000000',
          cliAsset('20160101000000', platform, 'arm64', INPUT_NAMING),
          false,
          /^There is no Convox CLI 20160101000000 at \S+ \(HTTP 403\): v2 versions are the 14-digit tags listed at https:\/\/github.com\/convox\/rack\/releases; older ones have no arm64 build: pick a later one, or an x64 runner\.$/
        ] as const
    ),
    [
      404,
      '3.99.0',
      v3,
      true,
      /\(HTTP 404\): the mirror has no convox-linux for 3\.99\.0; check cli-download-url and cli-version\.$/
    ],
    [403, '3.99.0', v3, true, /^Downloading the Convox CLI from \S+ failed: HTTP 403\.$/],
    [500, '3.99.0', v3, false, /failed: HTTP 500\.$/]
  ])('HTTP %i for %s', (status, version, asset, mirror, message) => {
    const error = downloadStatusError(URL, status, version, asset, mirror, INPUT_NAMING)
    expect(error.name).toBe('ConvoxError')
    expect(error.message).toMatch(message)
    expect(error.message).toContain(URL)
  })

  it("names the command's flags in the command", () => {
    expect(downloadStatusError(URL, 404, '3.99.0', v3, true, FLAG_NAMING).message).toMatch(
      /the mirror has no convox-linux for 3\.99\.0; check --download-url and --version\.$/
    )
  })
})

/** Smallest headers that say how long the file must be. */
const elf64 = (shoff: number, shnum: number) => {
  const b = Buffer.alloc(64)
  b.writeUInt32BE(0x7f454c46, 0)
  b[4] = 2
  b[5] = 1
  b.writeBigUInt64LE(64n, 0x20)
  b.writeBigUInt64LE(BigInt(shoff), 0x28)
  b.writeUInt16LE(56, 0x36)
  b.writeUInt16LE(64, 0x3a)
  b.writeUInt16LE(shnum, 0x3c)
  return b
}

const macho64 = (fileoff: number, filesize: number) => {
  const b = Buffer.alloc(32 + 72)
  b.writeUInt32LE(0xfeedfacf, 0)
  b.writeUInt32LE(1, 16)
  b.writeUInt32LE(72, 20)
  b.writeUInt32LE(0x19, 32)
  b.writeUInt32LE(72, 36)
  b.writeBigUInt64LE(BigInt(fileoff), 32 + 40)
  b.writeBigUInt64LE(BigInt(filesize), 32 + 48)
  return b
}

const fat = (offset: number, size: number) => {
  const b = Buffer.alloc(28)
  b.writeUInt32BE(0xcafebabe, 0)
  b.writeUInt32BE(1, 4)
  b.writeUInt32BE(offset, 8 + 8)
  b.writeUInt32BE(size, 8 + 12)
  return b
}

const pe = (pointer: number, size: number) => {
  const b = Buffer.alloc(0x40 + 24 + 40)
  b.write('MZ', 0, 'latin1')
  b.writeUInt32LE(0x40, 0x3c)
  b.write('PE\0\0', 0x40, 'latin1')
  b.writeUInt16LE(0x8664, 0x44)
  b.writeUInt16LE(1, 0x46)
  b.writeUInt32LE(size, 0x58 + 16)
  b.writeUInt32LE(pointer, 0x58 + 20)
  return b
}

describe('executableFormat and isHtml', () => {
  it.each([
    ['7f454c46020101', 'elf'],
    ['feedface', 'macho'],
    ['feedfacf', 'macho'],
    ['cefaedfe', 'macho'],
    ['cffaedfe07000001', 'macho'],
    ['cafebabe', 'fat'],
    ['bebafeca', 'fat'],
    ['4d5a9000', 'pe'],
    ['23212f62696e2f7368', undefined],
    ['7f45', undefined],
    ['', undefined]
  ])('%s -> %s', (hex, format) => {
    expect(executableFormat(Buffer.from(hex, 'hex'))).toBe(format)
  })

  it.each([
    [HTML_PAGE, true],
    ['\n  <html><body>hi</body></html>', true],
    ['\xEF\xBB\xBF<!doctype HTML>', true],
    ['<!-- generated --><html>', true],
    ['#!/bin/sh\necho <html>', false],
    ['\x7fELF', false]
  ])('%j -> %s', (text, html) => {
    expect(isHtml(Buffer.from(text, 'latin1'))).toBe(html)
  })
})

describe('executableArch', () => {
  const withMachine = (head: Buffer, write: (b: Buffer) => void) => {
    const b = Buffer.from(head)
    write(b)
    return b
  }
  it.each([
    ['an x64 ELF', fakeCli({ arch: 'x64' }), 'x64'],
    ['an arm64 ELF', fakeCli({ arch: 'arm64' }), 'arm64'],
    ['this machine', realExecutable(), process.arch],
    ['an arm64 Mach-O', withMachine(macho64(0, 104), b => b.writeUInt32LE(0x0100000c, 4)), 'arm64'],
    ['an x64 Mach-O', withMachine(macho64(0, 104), b => b.writeUInt32LE(0x01000007, 4)), 'x64'],
    ['an x64 PE', pe(0x200, 0x200), 'x64'],
    ['an arm64 PE', withMachine(pe(0x200, 0x200), b => b.writeUInt16LE(0xaa64, 0x44)), 'arm64'],
    ['a universal Mach-O', fat(4096, 1000), undefined],
    ['an unknown machine', withMachine(fakeCli(), b => b.writeUInt16LE(0x99, 18)), undefined],
    ['an ELF header cut short', fakeCli().subarray(0, 18), undefined],
    ['a script', Buffer.from('#!/bin/sh\n'), undefined]
  ])('%s', (_name, head, arch) => {
    expect(executableArch(head)).toBe(arch)
  })
})

describe('checkExecutable', () => {
  it('accepts a real executable of this machine, and a Linux build for either processor', () => {
    for (const file of [realExecutable(), fakeCli(), fakeCli({ arch: otherArch() })]) {
      expect(checkExecutable(URL, file, file.length, 'linux', INPUT_NAMING)).toBeUndefined()
    }
  })

  it('accepts a file whose header tables fit, even when only its head was read', () => {
    expect(checkExecutable(URL, elf64(4096, 10), 4096 + 640, 'linux', INPUT_NAMING)).toBeUndefined()
    expect(checkExecutable(URL, macho64(0, 8192), 8192, 'darwin', INPUT_NAMING)).toBeUndefined()
    expect(checkExecutable(URL, fat(4096, 1000), 5096, 'darwin', INPUT_NAMING)).toBeUndefined()
    expect(checkExecutable(URL, pe(0x200, 0x200), 0x400, 'win32', INPUT_NAMING)).toBeUndefined()
  })

  it.each([
    ['ELF', elf64(4096, 10), 4096, 'linux', 'its header needs 4736'],
    ['Mach-O', macho64(0, 8192), 8000, 'darwin', 'its header needs 8192'],
    ['fat Mach-O', fat(4096, 1000), 5000, 'darwin', 'its header needs 5096'],
    ['PE', pe(0x200, 0x200), 0x3ff, 'win32', 'its header needs 1024'],
    ['ELF header cut short', elf64(4096, 10).subarray(0, 40), 40, 'linux', 'shorter than its own header']
  ] as const)('refuses a truncated %s', (_name, head, size, platform, detail) => {
    expect(checkExecutable(URL, head, size, platform, INPUT_NAMING)?.message).toBe(
      `${URL} sent a truncated file (${size} bytes, ${detail}): try again, or check the copy on the mirror.`
    )
  })

  it('refuses a truncated copy of a real executable', () => {
    const cut = realExecutable().subarray(0, 8192)
    expect(checkExecutable(URL, cut, cut.length, 'linux', INPUT_NAMING)?.message).toMatch(
      /sent a truncated file \(8192 bytes, its header needs \d+\)/
    )
  })

  it.each([
    [
      Buffer.from(HTML_PAGE),
      'linux',
      `${URL} sent an HTML page instead of the Convox CLI: use a URL that serves the raw executable`
    ],
    [
      elf64(64, 0),
      'darwin',
      `${URL} sent a Linux (ELF) executable, not a macOS (Mach-O) executable: make cli-download-url pick`
    ],
    [macho64(0, 104), 'linux', `${URL} sent a macOS (Mach-O) executable, not a Linux (ELF) executable`],
    [pe(0x200, 0x200), 'darwin', `${URL} sent a Windows executable, not a macOS (Mach-O) executable`],
    [
      Buffer.from('#!/bin/sh\nexit 0\n'),
      'linux',
      `${URL} sent 17 bytes starting with 23212f62696e2f73, not a Linux (ELF) executable`
    ],
    [Buffer.alloc(0), 'win32', `${URL} sent an empty file, not a Windows executable`]
  ] as const)('refuses what is not the CLI for this OS (%#)', (head, platform, message) => {
    const error = checkExecutable(URL, head, head.length, platform, INPUT_NAMING)
    expect(error?.name).toBe('ConvoxError')
    expect(error?.message).toContain(message)
  })
})
