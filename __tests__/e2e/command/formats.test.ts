import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  azureLines,
  exportLines,
  failLine,
  fishQuote,
  jsonLine,
  pathLines,
  pwshQuote,
  shQuote
} from '../../../src/cli/formats.ts'
import { evalInBash } from '../../../test-support/run-cli.ts'

/**
 * The handover text of each format. sh is read back by a real bash; fish and PowerShell are not
 * installed here, so their quoting is checked against each language's rules, with an
 * interpreter of those rules written from their documentation (fish: inside single quotes only
 * \\' and \\\\ are escapes; PowerShell: inside a verbatim string only a doubled quote is).
 */

const NASTY = [`it's`, `"$(id)"`, '`id`', '\\', '$HOME', 'a b\tc', "''", 'ünï ‘quote’', "\\'", '']

/** Reads one fish single-quoted word back, by fish's rules; undefined when it is not one. */
function readFishWord(text: string): string | undefined {
  if (!text.startsWith("'")) return undefined
  let out = ''
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!
    if (c === '\\' && (text[i + 1] === "'" || text[i + 1] === '\\')) out += text[++i]
    else if (c === "'") return i === text.length - 1 ? out : undefined
    else out += c
  }
  return undefined
}

/** Reads one PowerShell verbatim string back; all four single-quote characters count as quotes. */
function readPwshWord(text: string): string | undefined {
  const quote = /['\u2018\u2019\u201a\u201b]/
  if (!quote.test(text[0] ?? '')) return undefined
  let out = ''
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!
    if (quote.test(c)) {
      if (quote.test(text[i + 1] ?? '')) out += text[++i]
      else return i === text.length - 1 ? out : undefined
    } else out += c
  }
  return undefined
}

describe('quoting', () => {
  it.each(NASTY)('sh keeps %j one word through eval', async value => {
    const vars = await evalInBash(`export V=${shQuote(value)}`, ['V'])
    expect(vars.V).toBe(value)
  })

  it.each(NASTY)('fish reads %j back whole', value => {
    expect(readFishWord(fishQuote(value))).toBe(value)
  })

  it.each(NASTY)('PowerShell reads %j back whole', value => {
    expect(readPwshWord(pwshQuote(value))).toBe(value)
  })

  it('the readers catch a broken quote (so the two tests above can fail)', () => {
    expect(readFishWord(`'it's'`)).toBeUndefined()
    expect(readPwshWord(`'it's'`)).toBeUndefined()
    expect(readPwshWord(`'it’s'`)).toBeUndefined()
  })
})

describe('export lines', () => {
  const handover = {
    env: { CONVOX_HOST: 'rack.example.com', CONVOX_PASSWORD: "k'ey" },
    clear: ['CONVOX_RACK']
  }

  it('sh unsets what it clears, then exports', () => {
    expect(exportLines('sh', handover)).toBe(
      "unset CONVOX_RACK\nexport CONVOX_HOST='rack.example.com'\nexport CONVOX_PASSWORD='k'\\''ey'\n"
    )
  })

  it('fish and pwsh', () => {
    expect(exportLines('fish', handover)).toBe(
      "set -e CONVOX_RACK\nset -gx CONVOX_HOST 'rack.example.com'\nset -gx CONVOX_PASSWORD 'k\\'ey'\n"
    )
    expect(exportLines('pwsh', handover)).toBe(
      "Remove-Item -ErrorAction SilentlyContinue Env:CONVOX_RACK\n$env:CONVOX_HOST = 'rack.example.com'\n$env:CONVOX_PASSWORD = 'k''ey'\n"
    )
  })

  it('dotenv: NAME=value, an empty value for what it clears', () => {
    expect(exportLines('dotenv', handover)).toBe(
      "CONVOX_RACK=\nCONVOX_HOST=rack.example.com\nCONVOX_PASSWORD=k'ey\n"
    )
  })

  it('Azure: the key and RACK_URL as secrets, the data escaped as the agent unescapes it', () => {
    expect(
      azureLines({
        env: { CONVOX_CONFIG: '/tmp/100%\nx', RACK_URL: 'https://convox:k@h' },
        clear: ['CONVOX_RACK']
      })
    ).toBe(
      '##vso[task.setvariable variable=CONVOX_RACK]\n' +
        '##vso[task.setvariable variable=CONVOX_CONFIG]/tmp/100%AZP25%0Ax\n' +
        '##vso[task.setvariable variable=RACK_URL;issecret=true]https://convox:k@h\n'
    )
  })

  it('json leaves the key out', () => {
    expect(JSON.parse(jsonLine({ host: 'h', password: 'secret-key' }))).toEqual({ host: 'h' })
  })

  it('PATH lines: sh keeps an empty PATH empty; dotenv spells the whole PATH out', () => {
    const sh = pathLines('sh', "/opt/it's", '', ':')
    expect(
      execFileSync('bash', ['--norc', '-c', `unset PATH; ${sh} printf %s "$PATH"`], { encoding: 'utf8' })
    ).toBe("/opt/it's")
    expect(pathLines('dotenv', '/opt/convox', '/usr/bin:/bin', ':')).toBe('PATH=/opt/convox:/usr/bin:/bin\n')
    expect(pathLines('fish', '/opt/convox', '', ':')).toBe("set -gx PATH '/opt/convox' $PATH\n")
  })

  it('a failure ends in a statement that fails in each shell', () => {
    expect(() => execFileSync('bash', ['--norc', '-ec', `${failLine('sh')}echo went on`])).toThrow()
    expect(failLine('fish')).toBe('false\n')
    expect(failLine('pwsh')).toMatch(/^throw '[^']*'\n$/)
  })
})
