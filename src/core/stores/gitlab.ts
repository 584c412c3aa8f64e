import type { Clock } from '../clock.ts'
import { ConvoxError, InputError } from '../errors.ts'
import type { HttpsAnswer } from '../http/https.ts'
import { parseJson } from '../http/json.ts'
import type { ProxyEnv } from '../http/proxy.ts'
import type { RestCall } from '../http/rest.ts'
import { answered, isSuccess, RestClient } from '../http/rest.ts'
import type { Log } from '../log.ts'
import type { SecretStore } from './store.ts'

export interface GitLabVariableStoreOptions {
  /** CI_API_V4_URL: `https://gitlab.com/api/v4`, or a self-managed instance's. */
  apiUrl: string
  /** CI_PROJECT_ID, or the project's path (`group/project`). */
  project: string
  /** A project, group or personal access token with the api scope. */
  token: string
  /** The variable holding the live key; the pending one is `<name>_NEXT`. */
  name: string
  tls?: { caCert?: string }
  /** HTTPS_PROXY and NO_PROXY as the job has them: GitLab is reached the way the rack is. */
  proxyEnv?: ProxyEnv
  clock: Clock
  log: Log
  /** How long network errors, 5xx and 429 are retried, per request. */
  retryForMs?: number
}

/** The attributes of a project variable that a keyroll keeps (GitLab's project-level variables API). */
interface Variable {
  key: string
  variable_type: string
  protected: boolean
  masked: boolean
  hidden?: boolean
  raw: boolean
  environment_scope: string
}

/** `<name>` is written after the rack already took the new key: outlasting a GitLab hiccup beats failing there. */
const DEFAULT_RETRY_MS = 5 * 60_000
const VARIABLE_NAME = /^[A-Za-z0-9_]{1,255}$/

/**
 * The keyroll's key pair kept as GitLab CI/CD variables of one project, through the REST API.
 * `<name>` must exist (it holds the key jobs log in with); `<name>_NEXT` is made with its flags
 * (masked, hidden, protected, raw, type) and in its environment scope, so the pending key is as
 * well kept as the live one, and `<name>` is updated in its scope with its flags untouched.
 */
export class GitLabVariableStore implements SecretStore {
  private readonly options: GitLabVariableStoreOptions
  private readonly rest: RestClient
  private current: Variable | undefined

  constructor(options: GitLabVariableStoreOptions) {
    if (!VARIABLE_NAME.test(options.name) || !VARIABLE_NAME.test(`${options.name}_NEXT`)) {
      throw new InputError(
        `"${options.name}" is not a GitLab variable name: use letters, digits and _ (at most 250 characters).`
      )
    }
    if (options.project.trim() === '') throw new InputError('The GitLab project is empty.')
    this.options = options
    this.rest = new RestClient({
      apiUrl: options.apiUrl,
      name: 'GitLab',
      hint: 'set CI_API_V4_URL, such as https://gitlab.com/api/v4',
      headers: { 'PRIVATE-TOKEN': options.token },
      secret: options.token,
      caCert: options.tls?.caCert,
      proxyEnv: options.proxyEnv,
      clock: options.clock,
      log: options.log,
      retryForMs: options.retryForMs ?? DEFAULT_RETRY_MS
    })
  }

  describe(which: 'current' | 'next'): string {
    return `CI/CD variable ${this.variableName(which)} of GitLab project ${this.options.project}`
  }

  async writeNext(key: string): Promise<void> {
    this.options.log.secret(key)
    const what = `write ${this.describe('next')}`
    const current = await this.currentVariable(what)
    const scope = current.environment_scope
    const updated = await this.request(what, 'PUT', this.variablePath('next', scope), { value: key })
    if (isSuccess(updated.status)) return
    if (updated.status !== 404) throw this.failure(what, updated)
    const flags = current.hidden ? { masked_and_hidden: true } : { masked: current.masked }
    const created = await this.request(what, 'POST', this.collectionPath(), {
      key: this.variableName('next'),
      value: key,
      variable_type: current.variable_type,
      protected: current.protected,
      raw: current.raw,
      environment_scope: scope,
      description: `Pending Convox key of a keyroll (convox-login); removed when it finishes. Keep ${this.options.name} as it is.`,
      ...flags
    })
    if (!isSuccess(created.status)) throw this.failure(what, created)
  }

  async writeCurrent(key: string): Promise<void> {
    this.options.log.secret(key)
    const what = `write ${this.describe('current')}`
    const current = await this.currentVariable(what)
    // Only the value: GitLab leaves every attribute not sent as it is.
    const answer = await this.request(what, 'PUT', this.variablePath('current', current.environment_scope), {
      value: key
    })
    if (!isSuccess(answer.status)) throw this.failure(what, answer)
  }

  async deleteNext(): Promise<void> {
    const what = `delete ${this.describe('next')}`
    const current = await this.currentVariable(what)
    const answer = await this.request(what, 'DELETE', this.variablePath('next', current.environment_scope))
    // Already gone is what we wanted.
    if (answer.status === 404 || isSuccess(answer.status)) return
    throw this.failure(what, answer)
  }

  /** `<name>`'s attributes, read once: NEXT copies them, and every write goes to its scope. */
  private async currentVariable(what: string): Promise<Variable> {
    if (this.current) return this.current
    const answer = await this.request(what, 'GET', this.variablePath('current'))
    const { name, project } = this.options
    if (answer.status === 404) {
      throw new ConvoxError(
        `Could not ${what}: GitLab answered 404, so project ${project} has no CI/CD variable ${name}, or the token cannot see ` +
          `the project: create ${name} (masked, holding the current key) in the project's CI/CD settings.`
      )
    }
    if (answer.status === 409) {
      throw new ConvoxError(
        `Could not ${what}: project ${project} has several variables ${name}, one per environment scope; ` +
          'keep the key in one variable, scoped to all environments (*), for the keyroll to know which to update.'
      )
    }
    if (!isSuccess(answer.status)) throw this.failure(what, answer)
    const variable = parseVariable(answer.body)
    if (!variable) {
      throw new ConvoxError(
        `Could not ${what}: ${this.rest.base.href} answered without a variable; check that it is GitLab's API URL (CI_API_V4_URL).`
      )
    }
    this.current = variable
    return variable
  }

  private variableName(which: 'current' | 'next'): string {
    return which === 'next' ? `${this.options.name}_NEXT` : this.options.name
  }

  private collectionPath(): string {
    return `projects/${encodeURIComponent(this.options.project)}/variables`
  }

  private variablePath(which: 'current' | 'next', scope?: string): string {
    const path = `${this.collectionPath()}/${encodeURIComponent(this.variableName(which))}`
    return scope === undefined
      ? path
      : `${path}?${new URLSearchParams({ 'filter[environment_scope]': scope })}`
  }

  private failure(what: string, answer: HttpsAnswer): ConvoxError {
    const said = gitlabMessage(answer.body, this.rest)
    const suffix = said ? ` (GitLab: "${said}")` : ''
    const { project } = this.options
    let cause: string
    if (answer.status === 401) {
      cause = 'GitLab answered 401, so GITLAB_TOKEN is invalid, expired or revoked'
    } else if (answer.status === 403) {
      cause =
        `GitLab answered 403, so the token may not change CI/CD variables of project ${project}: ` +
        'use a project or group access token with the api scope and the Maintainer role'
    } else if (answer.status === 404) {
      cause = `GitLab answered 404, so project ${project} does not exist or the token cannot see it`
    } else {
      cause = answered(this.rest, answer)
    }
    return new ConvoxError(`Could not ${what}: ${cause}${suffix}.`)
  }

  private request(
    what: string,
    method: NonNullable<RestCall['method']>,
    path: string,
    body?: Record<string, unknown>
  ): Promise<HttpsAnswer> {
    return this.rest.request({ what, method, path, body })
  }

  close(): void {
    this.rest.close()
  }
}

function parseVariable(body: string): Variable | undefined {
  const v = parseJson(body) as Partial<Variable> | undefined
  if (
    typeof v?.key !== 'string' ||
    typeof v.environment_scope !== 'string' ||
    typeof v.masked !== 'boolean' ||
    typeof v.protected !== 'boolean'
  ) {
    return undefined
  }
  return {
    key: v.key,
    variable_type: typeof v.variable_type === 'string' ? v.variable_type : 'env_var',
    protected: v.protected,
    masked: v.masked,
    hidden: v.hidden === true,
    raw: v.raw === true,
    environment_scope: v.environment_scope
  }
}

/**
 * GitLab's `message` (a string, or an object of field errors), as server text (server-text.ts):
 * never the token in any form, should a proxy echo it, and never a line of its own.
 */
function gitlabMessage(body: string, rest: RestClient): string | undefined {
  const message = (parseJson(body) as { message?: unknown; error?: unknown } | undefined) ?? {}
  const said = message.message ?? message.error
  if (said === undefined || said === null || said === '') return undefined
  const text = typeof said === 'string' ? said : JSON.stringify(said)
  return rest.said(text) || undefined
}
