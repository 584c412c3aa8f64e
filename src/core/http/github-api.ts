/** What every request to the GitHub REST API sends, whether for a secret or for the CLI's latest release. */

/** The API version this code was written against; GitHub answers every request in it. */
const GITHUB_API_VERSION = '2022-11-28'

export function gitHubHeaders(token?: string): Record<string, string> {
  return {
    Accept: 'application/vnd.github+json',
    'X-GitHub-Api-Version': GITHUB_API_VERSION,
    ...(token ? { Authorization: `Bearer ${token}` } : {})
  }
}
