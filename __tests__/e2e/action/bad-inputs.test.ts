import { afterAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import {
  expectNoLeaks,
  RACK,
  RACK_KEY,
  seedOtherLogin,
  settingsDir
} from '../../../test-support/action-login.ts'
import type { FakeConvox } from '../../../test-support/fake-convox.ts'
import { startFakeConvox } from '../../../test-support/fake-convox.ts'
import type { Runner } from '../../../test-support/run-action.ts'
import { runnerPool, runStepTrustingInputs as step } from '../../../test-support/run-action.ts'
import { snapshot } from '../../../test-support/settings-dir.ts'

/**
 * Bad inputs, end to end: each is refused with one sentence before anything is sent or written.
 *
 * Every scenario also checks that no form of the key reaches the log, the summary or the workspace.
 */

const { fresh, removeAll } = runnerPool()
afterAll(removeAll)

describe('bad inputs: refused before anything is sent or written', () => {
  const PEM_ISH = 'not a certificate'
  const NEXT_KEY = 'PendingNextKeyPpQqRrSsTt'
  interface BadInput {
    name: string
    inputs: (fake: FakeConvox, runner: Runner) => Record<string, string>
    message: RegExp
  }
  const valid = (fake: FakeConvox) => ({ host: fake.host, password: RACK_KEY, 'ca-cert': fake.caCert })
  const bad: BadInput[] = [
    {
      name: 'an empty password',
      inputs: f => ({ ...valid(f), password: '' }),
      message: /password input is empty.*forks or by Dependabot/
    },
    {
      name: 'an http:// host',
      inputs: f => ({ ...valid(f), host: `http://${f.host}` }),
      message: /uses http:\/\/, but Convox APIs are served over HTTPS only/
    },
    {
      name: 'a host with a path',
      inputs: f => ({ ...valid(f), host: `https://${f.host}/api` }),
      message: /has a path, query or fragment/
    },
    {
      name: 'a host with a query',
      inputs: f => ({ ...valid(f), host: `${f.host}?rack=x` }),
      message: /has a path, query or fragment/
    },
    {
      name: 'a host with white space',
      inputs: f => ({ ...valid(f), host: f.host.replace(':', ' :') }),
      message: /contains white space/
    },
    {
      name: 'a bad boolean',
      inputs: f => ({ ...valid(f), validate: 'yes' }),
      message: /^The validate input "yes" is not a boolean: use true or false\.$/
    },
    {
      name: 'a bad retry-for',
      inputs: f => ({ ...valid(f), 'retry-for': 'banana' }),
      message: /retry-for input "banana" is not a duration/
    },
    {
      name: 'a bad rack',
      inputs: f => ({ ...valid(f), rack: 'a/b/c' }),
      message: /rack input "a\/b\/c" is not a rack name/
    },
    {
      name: 'a ca-cert that is not PEM',
      inputs: f => ({ ...valid(f), 'ca-cert': PEM_ISH }),
      message: /ca-cert input is not a PEM certificate/
    },
    {
      name: 'ca-cert and insecure',
      inputs: f => ({ ...valid(f), insecure: 'true' }),
      message: /Both ca-cert and insecure are set/
    },
    {
      name: 'a config-dir inside the workspace',
      inputs: (f, r) => ({ ...valid(f), 'config-dir': path.join(r.workspace, '.convox') }),
      message: /config-dir input .* is inside the workspace.*runner\.temp/
    },
    {
      name: 'keyroll with validate false',
      inputs: f => ({ ...valid(f), keyroll: 'true', validate: 'false' }),
      message: /keyroll needs the API, but validate is false/
    },
    {
      name: 'update-secret without github-token',
      inputs: f => ({ ...valid(f), keyroll: 'true', 'update-secret': 'CONVOX_PASSWORD' }),
      message: /update-secret needs a github-token/
    },
    {
      name: 'password-next without keyroll',
      inputs: f => ({ ...valid(f), 'password-next': NEXT_KEY }),
      message: /password-next input is only used with keyroll: true/
    },
    {
      name: 'cli-version v3.1',
      inputs: f => ({ ...valid(f), 'cli-version': 'v3.1' }),
      message: /cli-version input "v3\.1" is not a Convox CLI version/
    },
    {
      name: 'cli-version banana',
      inputs: f => ({ ...valid(f), 'cli-version': 'banana' }),
      message: /cli-version input "banana" is not a Convox CLI version/
    },
    {
      name: 'cli-download-url without cli-version',
      inputs: f => ({ ...valid(f), 'cli-download-url': 'https://mirror.example.com/{version}/{asset}' }),
      message: /cli-download-url is set without cli-version/
    }
  ]

  it.concurrent.each(bad)('$name', async ({ inputs, message }) => {
    const fake = await startFakeConvox(RACK)
    try {
      const runner = fresh()
      const dir = settingsDir(runner)
      seedOtherLogin(dir)
      const before = snapshot(dir)
      const given = inputs(fake, runner)
      const result = await step(runner, given)
      expect(result.code).toBe(1)
      expect(result.error).toMatch(message)
      expect(result.error).not.toMatch(/\n/)
      expect(snapshot(dir)).toEqual(before)
      expect(fs.readdirSync(runner.workspace)).toEqual([])
      expect(fs.readdirSync(runner.temp)).toEqual([])
      expect(fake.requests).toEqual([])
      expect(result.env).toEqual({})
      expect(result.outputs).toEqual({})
      const secrets = [given.password!, given['password-next'] ?? ''].filter(Boolean)
      expectNoLeaks(result, runner, secrets, fake.host)
    } finally {
      await fake.close()
    }
  })
})
