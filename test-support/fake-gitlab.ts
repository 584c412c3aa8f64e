import https from 'node:https'
import type { ServerResponse } from 'node:http'
import { listenOnLoopback, testTls } from './tls.ts'

/**
 * A loopback HTTPS server that answers like GitLab's project-level CI/CD variables API
 * (`/api/v4/projects/:id/variables[/:key]`) for one project: PRIVATE-TOKEN checked, variables
 * kept per (key, environment scope), masked values held to GitLab's rules, `filter[environment_scope]`
 * honoured, 409 when a key exists in several scopes and no filter picks one, and an update that
 * changes only the attributes it is sent. Every change is recorded with its time.
 */

export interface FakeVariable {
  key: string
  value: string
  variable_type: 'env_var' | 'file'
  protected: boolean
  masked: boolean
  hidden: boolean
  raw: boolean
  environment_scope: string
  description: string | null
}

export interface FakeGitLabOp {
  time: number
  op: 'create' | 'update' | 'delete'
  key: string
  scope: string
  /** The variable as this change left it (as it was, for a delete). */
  variable: FakeVariable
}

export interface FakeGitLabOptions {
  /** The numeric id; the project's path is `acme/app`. */
  projectId?: string
  /** Tokens that may write variables (Maintainer with api scope). */
  tokens?: string[]
  /** Tokens GitLab knows that may not (a Developer's, a read_api token). */
  readOnlyTokens?: string[]
}

export interface FakeGitLab {
  /** As CI_API_V4_URL: `https://127.0.0.1:PORT/api/v4`. */
  apiUrl: string
  projectId: string
  variables: FakeVariable[]
  ops: FakeGitLabOp[]
  requests: Array<{ method: string; path: string; status: number; token?: string }>
  set(variable: Partial<FakeVariable> & { key: string; value: string }): void
  get(key: string, scope?: string): FakeVariable | undefined
  /** Makes the next `times` requests of `method` (all when omitted) answer `status`, with `message` if given. */
  fail(status: number, options?: { times?: number; method?: string; message?: string }): void
  /** Connections a client still holds open (keep-alive): 0 once it closed its client. */
  openConnections(): number
  close(): Promise<void>
}

/** GitLab's rule for masked values: 8 characters or more, from the Base64 alphabet and @:.~. */
const MASKABLE = /^[A-Za-z0-9+/=@:.~_-]{8,}$/

export async function startFakeGitLab(options: FakeGitLabOptions = {}): Promise<FakeGitLab> {
  const tls = testTls()
  const projectId = options.projectId ?? '4242'
  const variables: FakeVariable[] = []
  const ops: FakeGitLabOp[] = []
  const requests: FakeGitLab['requests'] = []
  const faults: Array<{ status: number; times: number; method?: string; message?: string }> = []

  const find = (key: string, scope: string | undefined) =>
    variables.filter(v => v.key === key && (scope === undefined || v.environment_scope === scope))

  function set(variable: Partial<FakeVariable> & { key: string; value: string }): void {
    variables.push({
      variable_type: 'env_var',
      protected: false,
      masked: false,
      hidden: false,
      raw: false,
      environment_scope: '*',
      description: null,
      ...variable
    })
  }

  function shown(v: FakeVariable): Record<string, unknown> {
    // A hidden variable's value is never shown again, as on GitLab.
    return { ...v, value: v.hidden ? null : v.value }
  }

  function handle(
    method: string,
    url: URL,
    body: Record<string, unknown>,
    token: string,
    res: ServerResponse
  ): number {
    if (!options.tokens?.includes(token) && !options.readOnlyTokens?.includes(token)) {
      return json(res, 401, { message: '401 Unauthorized' })
    }
    const match = /^\/api\/v4\/projects\/([^/]+)\/variables(?:\/([^/]+))?$/.exec(url.pathname)
    const project = match ? decodeURIComponent(match[1]!) : ''
    if (!match || (project !== projectId && project !== 'acme/app')) {
      return json(res, 404, { message: '404 Project Not Found' })
    }
    if (!options.tokens?.includes(token)) return json(res, 403, { message: '403 Forbidden' })
    const key = match[2] === undefined ? undefined : decodeURIComponent(match[2])
    const scope = url.searchParams.get('filter[environment_scope]') ?? undefined
    const time = Date.now()
    if (key === undefined) {
      if (method === 'GET') return json(res, 200, variables.map(shown))
      if (method !== 'POST') return json(res, 405, { message: '405 Method Not Allowed' })
      const newKey = String(body.key ?? '')
      const value = String(body.value ?? '')
      const envScope = String(body.environment_scope ?? '*')
      const masked = body.masked === true || body.masked_and_hidden === true
      if (find(newKey, envScope).length > 0) {
        return json(res, 400, { message: { key: [`(${newKey}) has already been taken`] } })
      }
      if (masked && !MASKABLE.test(value)) {
        return json(res, 400, { message: { value: ['is invalid'] } })
      }
      set({
        key: newKey,
        value,
        variable_type: body.variable_type === 'file' ? 'file' : 'env_var',
        protected: body.protected === true,
        masked,
        hidden: body.masked_and_hidden === true,
        raw: body.raw === true,
        environment_scope: envScope,
        description: typeof body.description === 'string' ? body.description : null
      })
      ops.push({
        time,
        op: 'create',
        key: newKey,
        scope: envScope,
        variable: { ...variables[variables.length - 1]! }
      })
      return json(res, 201, shown(variables[variables.length - 1]!))
    }
    const found = find(key, scope)
    if (found.length === 0) return json(res, 404, { message: '404 Variable Not Found' })
    if (found.length > 1) {
      return json(res, 409, {
        message:
          "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'"
      })
    }
    const variable = found[0]!
    if (method === 'GET') return json(res, 200, shown(variable))
    if (method === 'PUT') {
      if ('masked' in body && variable.hidden) {
        return json(res, 400, {
          message: 'The visibility setting cannot be changed for masked and hidden variables.'
        })
      }
      const value = typeof body.value === 'string' ? body.value : variable.value
      if (variable.masked && !MASKABLE.test(value))
        return json(res, 400, { message: { value: ['is invalid'] } })
      variable.value = value
      for (const name of ['protected', 'masked', 'raw'] as const) {
        if (typeof body[name] === 'boolean') variable[name] = body[name]
      }
      if (body.variable_type === 'file' || body.variable_type === 'env_var')
        variable.variable_type = body.variable_type
      ops.push({ time, op: 'update', key, scope: variable.environment_scope, variable: { ...variable } })
      return json(res, 200, shown(variable))
    }
    if (method === 'DELETE') {
      variables.splice(variables.indexOf(variable), 1)
      ops.push({ time, op: 'delete', key, scope: variable.environment_scope, variable: { ...variable } })
      res.writeHead(204).end()
      return 204
    }
    return json(res, 405, { message: '405 Method Not Allowed' })
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const method = req.method ?? ''
      const url = new URL(req.url ?? '/', 'https://gitlab.test')
      const token =
        typeof req.headers['private-token'] === 'string' ? req.headers['private-token'] : undefined
      const record = { method, path: url.pathname, status: 0, token }
      requests.push(record)
      const fault = faults.find(f => f.times > 0 && (!f.method || f.method === method))
      if (fault) {
        fault.times--
        record.status = json(res, fault.status, { message: fault.message ?? `${fault.status} Server Error` })
        return
      }
      let body: Record<string, unknown> = {}
      const text = Buffer.concat(chunks).toString('utf8')
      if (text) {
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          record.status = json(res, 400, { error: 'body is not JSON' })
          return
        }
      }
      record.status = handle(method, url, body, token ?? '', res)
    })
  })
  const { port, close, openConnections } = await listenOnLoopback(server)
  return {
    apiUrl: `https://127.0.0.1:${port}/api/v4`,
    projectId,
    variables,
    ops,
    requests,
    set,
    get: (key, scope) => find(key, scope)[0],
    fail(status, opts = {}) {
      faults.push({ status, times: opts.times ?? 1, method: opts.method, message: opts.message })
    },
    openConnections,
    close
  }
}

function json(res: ServerResponse, status: number, value: unknown): number {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(value))
  return status
}
