import { closedPort } from './tls.ts'

/**
 * Download hosts that fail in each way a CLI install must report within seconds (tool-cache alone
 * retried these for 20 to 40 s, docs/performance.md), with the cause its sentence must name. The
 * action and the command share the cases and differ only in whose words the sentence uses.
 * `mirrorUrl` is read when a case runs: the mirror starts after the table is built.
 */
export function failingDownloadHosts(
  mirrorUrl: () => string
): [name: string, host: () => Promise<string>, cause: RegExp][] {
  return [
    ['does not resolve', async () => 'cli.example.invalid', /: the host name does not resolve \(/],
    [
      'refuses connections',
      async () => `127.0.0.1:${await closedPort()}`,
      /: it refuses connections, still after/
    ],
    ['has no such version (404)', async () => mirrorUrl().replace('https://', ''), /\(HTTP 404\)/]
  ]
}
