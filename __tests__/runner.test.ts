import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { parseFileCommands } from '../test-support/run-action.ts'

/**
 * src/action/runner.ts speaks the runner's protocol in place of @actions/core. Each case runs it in
 * a Node process of its own, as the action does, because it writes to file descriptor 1 directly.
 */
const RUNNER_MODULE = new URL('../src/action/runner.ts', import.meta.url).href
const roots: string[] = []

interface Child {
  code: number | null
  stdout: string
  files: Record<'env' | 'output' | 'state' | 'path' | 'summary', string>
}

/** Runs `script` with `runner` imported; stdout is read only after `readAfterMs`. */
function runWithRunner(script: string, env: Record<string, string> = {}, readAfterMs = 0): Promise<Child> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convox-login-runner-'))
  roots.push(root)
  const names = ['env', 'output', 'state', 'path', 'summary'] as const
  for (const name of names) fs.writeFileSync(path.join(root, name), '')
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const runner = await import(${JSON.stringify(RUNNER_MODULE)});\n${script}`
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: process.env.PATH,
        GITHUB_ENV: path.join(root, 'env'),
        GITHUB_OUTPUT: path.join(root, 'output'),
        GITHUB_STATE: path.join(root, 'state'),
        GITHUB_PATH: path.join(root, 'path'),
        GITHUB_STEP_SUMMARY: path.join(root, 'summary'),
        ...env
      }
    }
  )
  const chunks: Buffer[] = []
  child.stdout.pause()
  setTimeout(() => {
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.stdout.resume()
  }, readAfterMs)
  return new Promise(resolve =>
    child.on('close', code => {
      const files = Object.fromEntries(
        names.map(name => [name, fs.readFileSync(path.join(root, name), 'utf8')])
      ) as Child['files']
      resolve({ code, stdout: Buffer.concat(chunks).toString('utf8'), files })
    })
  )
}

afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true })
})

describe('runner', () => {
  it('reads inputs as the runner passes them: INPUT_<NAME>, dashes kept, spaces as underscores, trimmed', async () => {
    const child = await runWithRunner(
      "console.log(JSON.stringify([runner.getInput('ca-cert'), runner.getInput('some input'), runner.getInput('missing')]))",
      { 'INPUT_CA-CERT': '  -----BEGIN CERTIFICATE-----\n ', INPUT_SOME_INPUT: 'value' }
    )
    expect(JSON.parse(child.stdout)).toEqual(['-----BEGIN CERTIFICATE-----', 'value', ''])
  })

  it('writes one command per line, escaping what would end the line or the command', async () => {
    const child = await runWithRunner(`
      runner.setSecret('a%b\\r\\nc', 'plain')
      runner.setSecret()
      runner.info('info line')
      runner.warning('two\\nlines')
      runner.debug('50% done')
      await runner.group('Phase', async () => runner.info('inside'))
      runner.setFailed('it failed')
    `)
    expect(child.code).toBe(1)
    expect(child.stdout.split(os.EOL)).toEqual([
      '::add-mask::a%25b%0D%0Ac',
      '::add-mask::plain',
      'info line',
      '::warning::two%0Alines',
      '::debug::50%25 done',
      '::group::Phase',
      'inside',
      '::endgroup::',
      '::error::it failed',
      ''
    ])
  })

  it('appends file commands the runner parses back, multi-line values included, and updates this process', async () => {
    const child = await runWithRunner(`
      runner.exportVariables({ CONVOX_HOST: 'rack.example.com', MULTI: 'line 1\\nline 2' })
      runner.setOutputs({ host: 'rack.example.com', odd: 'a<<b\\n%' })
      runner.saveState('journal', '/tmp/journal.json')
      runner.addPath('/opt/convox')
      runner.appendSummary('<h3>Convox login</h3>\\n')
      console.log(JSON.stringify([process.env.MULTI, process.env.PATH.split(${JSON.stringify(path.delimiter)})[0]]))
    `)
    expect(child.code).toBe(0)
    expect(parseFileCommands(child.files.env)).toEqual({
      CONVOX_HOST: 'rack.example.com',
      MULTI: 'line 1\nline 2'
    })
    expect(parseFileCommands(child.files.output)).toEqual({ host: 'rack.example.com', odd: 'a<<b\n%' })
    expect(parseFileCommands(child.files.state)).toEqual({ journal: '/tmp/journal.json' })
    expect(child.files.path).toBe(`/opt/convox${os.EOL}`)
    expect(child.files.summary).toBe('<h3>Convox login</h3>\n')
    expect(JSON.parse(child.stdout)).toEqual(['line 1\nline 2', '/opt/convox'])
    // One random delimiter per call, so a value cannot close its entry early.
    expect(child.files.output).toMatch(/^host<<(ghadelimiter_[0-9a-f-]{36})\n/)
  })

  it('gets a long line out whole through a full non-blocking pipe', async () => {
    // Once process.stdout exists (tool-cache logs through it), Node has made the pipe non-blocking,
    // and a direct write is refused (EAGAIN) or cut short while the reader is behind.
    const child = await runWithRunner(
      "process.stdout; runner.info('x'.repeat(1024 * 1024)); runner.info('after')",
      {},
      300
    )
    expect(child.code).toBe(0)
    expect(child.stdout).toBe(`${'x'.repeat(1024 * 1024)}${os.EOL}after${os.EOL}`)
  })
})
