import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { realClock } from '../../../src/core/clock.ts'
import { GitLabVariableStore } from '../../../src/core/stores/gitlab.ts'
import { silentLog } from '../../../src/core/log.ts'
import type { FakeGitLab } from '../../../test-support/fake-gitlab.ts'
import { startFakeGitLab } from '../../../test-support/fake-gitlab.ts'
import { testTls } from '../../../test-support/tls.ts'

/** The GitLab CI/CD variable store over real HTTPS against the fake GitLab API. */

const TOKEN = 'glpat-StoreTestToken0123456789'
const KEY = 'NewRackKey0123456789abcdefghijklmnopqrstuvwxyzABCD'
let gitlab: FakeGitLab

beforeAll(async () => {
  gitlab = await startFakeGitLab({ tokens: [TOKEN] })
})
afterAll(() => gitlab.close())

function store(name: string, options: { token?: string; project?: string } = {}): GitLabVariableStore {
  return new GitLabVariableStore({
    apiUrl: gitlab.apiUrl,
    project: options.project ?? gitlab.projectId,
    token: options.token ?? TOKEN,
    name,
    tls: { caCert: testTls().caCert },
    clock: realClock,
    log: silentLog,
    retryForMs: 5000
  })
}

describe('GitLabVariableStore', () => {
  it('keeps one connection for its requests, and close() ends it', async () => {
    gitlab.set({ key: 'CLOSE', value: 'OldValue12345678', masked: true })
    const s = store('CLOSE')
    await s.writeNext(KEY)
    expect(gitlab.openConnections()).toBe(1)
    s.close()
    for (let i = 0; i < 100 && gitlab.openConnections() > 0; i++) await new Promise(r => setTimeout(r, 10))
    expect(gitlab.openConnections()).toBe(0)
  })

  it('creates NEXT like NAME, updates it in place the second time, and by the project path too', async () => {
    gitlab.set({ key: 'A', value: 'OldValue12345678', masked: true, protected: true, variable_type: 'file' })
    await store('A').writeNext(KEY)
    expect(gitlab.get('A_NEXT')).toMatchObject({
      value: KEY,
      masked: true,
      protected: true,
      variable_type: 'file'
    })
    await store('A', { project: 'acme/app' }).writeNext(`${KEY}2`)
    expect(gitlab.variables.filter(v => v.key === 'A_NEXT')).toHaveLength(1)
    expect(gitlab.get('A_NEXT')?.value).toBe(`${KEY}2`)
    expect(gitlab.requests.some(r => r.path.includes('acme%2Fapp'))).toBe(true)
    const s = store('A')
    await s.deleteNext()
    await s.deleteNext()
    expect(gitlab.get('A_NEXT')).toBeUndefined()
    expect(s.describe('next')).toBe(`CI/CD variable A_NEXT of GitLab project ${gitlab.projectId}`)
  })

  it('retries a 503, and says what a 401 means without the token', async () => {
    gitlab.set({ key: 'B', value: 'OldValue12345678', masked: true })
    gitlab.fail(503, { times: 1, method: 'PUT' })
    await store('B').writeCurrent(KEY)
    expect(gitlab.get('B')?.value).toBe(KEY)
    const bad = 'glpat-WrongToken000000000'
    const error = await store('B', { token: bad })
      .writeCurrent(KEY)
      .catch((e: Error) => e)
    expect(String(error)).toContain('GitLab answered 401, so GITLAB_TOKEN is invalid')
    expect(String(error)).not.toContain(bad)
  })

  it("quotes GitLab's message as data: one line, without the token in any form", async () => {
    gitlab.set({ key: 'C', value: 'OldValue12345678', masked: true })
    const basic = Buffer.from(`convox:${TOKEN}`).toString('base64')
    gitlab.fail(403, {
      method: 'PUT',
      message: `403 Forbidden for ${TOKEN} (${encodeURIComponent(TOKEN)}, Basic ${basic})\n::warning::injected`
    })
    const error = await store('C')
      .writeCurrent(KEY)
      .catch((e: Error) => e)
    const text = String(error)
    expect(text).toContain('403 Forbidden for ***')
    expect(text).not.toMatch(/[\r\n]/)
    expect(text).not.toContain(TOKEN)
    expect(text).not.toContain(basic)
  })

  it('refuses a name GitLab would refuse before any request', () => {
    const before = gitlab.requests.length
    expect(() => store('NOT-A-NAME')).toThrow('is not a GitLab variable name')
    expect(gitlab.requests.length).toBe(before)
  })
})
