import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * What `npm install -g convox-login` and `npx convox-login` would get: the tarball `npm pack`
 * makes from this checkout, unpacked into an empty directory with nothing else around it, runs.
 */

const root = path.resolve(import.meta.dirname, '../../..')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-pack-'))
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

describe('npm pack', () => {
  it('makes a package whose convox-login runs in an empty directory', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' })
    ) as Array<{ filename: string; files: Array<{ path: string }> }>
    // Only what the command runs and loads lazily, and the documents: no action bundle, test,
    // fixture, source map or .tmp file.
    const files = packed[0]!.files.map(f => f.path).sort()
    expect(files).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'dist/convox-login.cjs',
      'dist/vendor/libsodium-wrappers.cjs',
      'dist/vendor/tool-cache.cjs',
      'dist/vendor/tool-cache.cjs.LEGAL.txt',
      'package.json'
    ])
    const empty = path.join(work, 'empty')
    fs.mkdirSync(empty)
    execFileSync('tar', ['xzf', path.join(work, packed[0]!.filename)], { cwd: empty })
    const pkg = JSON.parse(fs.readFileSync(path.join(empty, 'package', 'package.json'), 'utf8'))
    expect(pkg.bin).toEqual({ 'convox-login': 'dist/convox-login.cjs' })
    // The bundles hold everything: an install fetches this tarball and nothing else.
    expect(pkg.dependencies).toBeUndefined()
    expect(pkg.private).toBeUndefined()
    const env = { PATH: process.env.PATH ?? '', HOME: path.join(work, 'home') }
    const version = execFileSync(process.execPath, ['package/dist/convox-login.cjs', '--version'], {
      cwd: empty,
      env,
      encoding: 'utf8'
    })
    expect(version).toBe(`convox-login ${pkg.version}\n`)
    const login = execFileSync(
      process.execPath,
      [
        'package/dist/convox-login.cjs',
        'login',
        '--no-validate',
        '--host',
        'rack.example.com',
        '--format',
        'json'
      ],
      {
        cwd: empty,
        env: { ...env, CONVOX_PASSWORD: 'MadeUpKeyForThePackageTest' },
        encoding: 'utf8',
        stdio: 'pipe'
      }
    )
    expect(JSON.parse(login)).toMatchObject({ host: 'rack.example.com', kind: 'rack' })
  })
})
