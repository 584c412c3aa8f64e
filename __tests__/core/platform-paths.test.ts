import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { expandHome, foldsCase, isOtherUsersHome, isWithin } from '../../src/core/platform-paths.ts'

/**
 * config-dir as each runner reads it: `~` on a Linux, macOS and Windows home, both separators on
 * Windows, and the workspace check on file systems that fold case. Run with both of node:path's
 * flavours, so the Windows rules are tested on this Linux machine.
 */

const { posix, win32 } = path

describe('expandHome', () => {
  it.each([
    ['~', '/home/runner', posix, '/home/runner'],
    ['~/', '/home/runner', posix, '/home/runner'],
    ['~/.convox', '/home/runner', posix, '/home/runner/.convox'],
    ['~/.convox', '/Users/runner', posix, '/Users/runner/.convox'],
    ['~/a/../b', '/home/runner', posix, '/home/runner/b'],
    ['/etc/convox', '/home/runner', posix, '/etc/convox'],
    ['relative/dir', '/home/runner', posix, 'relative/dir'],
    // A backslash is a file name character on Linux and macOS, not a separator.
    ['~\\.convox', '/home/runner', posix, '~\\.convox'],
    ['~', 'C:\\Users\\runneradmin', win32, 'C:\\Users\\runneradmin'],
    ['~/.convox', 'C:\\Users\\runneradmin', win32, 'C:\\Users\\runneradmin\\.convox'],
    ['~\\.convox', 'C:\\Users\\runneradmin', win32, 'C:\\Users\\runneradmin\\.convox'],
    ['~\\a/b', 'C:\\Users\\runneradmin', win32, 'C:\\Users\\runneradmin\\a\\b'],
    ['D:\\a\\_temp\\convox', 'C:\\Users\\runneradmin', win32, 'D:\\a\\_temp\\convox'],
    ['D:/a/_temp/convox', 'C:\\Users\\runneradmin', win32, 'D:/a/_temp/convox']
  ] as const)('%s with home %s (%#)', (raw, home, flavour, expected) => {
    expect(expandHome(raw, home, flavour)).toBe(expected)
  })
})

describe('isOtherUsersHome', () => {
  it.each([
    ['~runner/.convox', posix, true],
    ['~\\.convox', posix, true],
    ['~/.convox', posix, false],
    ['~', posix, false],
    ['/home/~x', posix, false],
    ['~runneradmin\\.convox', win32, true],
    ['~\\.convox', win32, false],
    ['~/.convox', win32, false],
    ['~', win32, false]
  ] as const)('%s (%#): %s', (raw, flavour, expected) => {
    expect(isOtherUsersHome(raw, flavour)).toBe(expected)
  })
})

describe('foldsCase', () => {
  it.each([
    ['linux', false],
    ['darwin', true],
    ['win32', true]
  ] as const)('%s: %s', (platform, expected) => {
    expect(foldsCase(platform)).toBe(expected)
  })
})

describe('isWithin', () => {
  it.each([
    // Linux: case matters, and a sibling that shares a prefix is outside.
    ['/home/runner/work/app/app/.convox', '/home/runner/work/app/app', posix, 'linux', true],
    ['/home/runner/work/app/app', '/home/runner/work/app/app', posix, 'linux', true],
    ['/home/runner/work/app/app-convox', '/home/runner/work/app/app', posix, 'linux', false],
    ['/home/runner/work/app/App/.convox', '/home/runner/work/app/app', posix, 'linux', false],
    ['/home/runner/.convox', '/home/runner/work/app/app', posix, 'linux', false],
    ['/home/runner/work/app/app/..convox', '/home/runner/work/app/app', posix, 'linux', true],
    ['/', '/home/runner/work/app/app', posix, 'linux', false],
    ['/anything', '/', posix, 'linux', true],
    // macOS: APFS folds case by default.
    ['/Users/runner/work/app/App/.convox', '/Users/runner/work/app/app', posix, 'darwin', true],
    ['/Users/runner/.convox', '/Users/runner/work/app/app', posix, 'darwin', false],
    // Windows: case folded, either separator, and another drive is outside.
    ['D:\\a\\app\\app\\.convox', 'D:\\a\\app\\app', win32, 'win32', true],
    ['d:\\A\\APP\\app\\.convox', 'D:\\a\\app\\app', win32, 'win32', true],
    ['D:/a/app/app/.convox', 'D:\\a\\app\\app', win32, 'win32', true],
    ['D:\\a\\app\\app-convox', 'D:\\a\\app\\app', win32, 'win32', false],
    ['D:\\a\\_temp\\convox', 'D:\\a\\app\\app', win32, 'win32', false],
    ['C:\\Users\\runneradmin\\.convox', 'D:\\a\\app\\app', win32, 'win32', false],
    ['C:\\a\\app\\app\\.convox', 'D:\\a\\app\\app', win32, 'win32', false],
    ['D:\\anything', 'D:\\', win32, 'win32', true]
  ] as const)('%s in %s (%#): %s', (child, parent, flavour, platform, expected) => {
    expect(isWithin(child, parent, flavour, platform)).toBe(expected)
  })
})
