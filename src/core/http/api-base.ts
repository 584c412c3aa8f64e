import { InputError } from '../errors.ts'

/**
 * What the secret stores (stores/github.ts, stores/gitlab.ts) share about the REST API they
 * talk to: its root URL, given by the CI, and what counts as done.
 */

/**
 * The API root as a directory URL, so request paths resolve below it (GitHub Enterprise Server's
 * and GitLab's roots have paths of their own). `name` says whose API it is in the sentence;
 * `hint` says where the URL comes from, for a value that is not a URL at all.
 */
export function apiBase(apiUrl: string, name: string, hint = ''): URL {
  let url: URL
  try {
    url = new URL(apiUrl)
  } catch {
    throw new InputError(`The ${name} API URL "${apiUrl}" is not a URL${hint ? `: ${hint}` : ''}.`)
  }
  if (url.protocol !== 'https:') throw new InputError(`The ${name} API URL ${apiUrl} does not use https://.`)
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300
}
