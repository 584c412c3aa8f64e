import type { LoginResult } from '../core/login.ts'
import { appendSummary } from './runner.ts'

export interface SummaryExtras {
  keyroll?: { seconds: number; oldKeyRevoked: boolean; resumed: boolean }
  cli?: { version: string; path: string; cached: boolean }
}

/** The job summary: what was done, never a secret. Skipped outside GitHub Actions. */
export function writeSummary(result: LoginResult, extras: SummaryExtras): void {
  const rows: Array<[string, string]> = [
    ['Host', result.host],
    ['Kind', result.kind === 'console' ? 'Console' : 'Rack'],
    ['Rack', result.rack || '(none)'],
    ['Rack version', result.rackVersion || '(not read)'],
    ['Rack status', result.rackStatus || '(not read)'],
    ['Validated', result.checked.length ? result.checked.join('; ') : 'no (validate: false)'],
    ['Settings', result.configDir]
  ]
  if (extras.keyroll) {
    rows.push(
      [
        'Keyroll',
        `${extras.keyroll.resumed ? 'finished an earlier roll' : 'rolled'} in ${extras.keyroll.seconds}s`
      ],
      [
        'Old key revoked',
        extras.keyroll.oldKeyRevoked ? 'yes' : 'no: the rack still accepts it until its API restarts'
      ]
    )
  }
  if (extras.cli) {
    rows.push([
      'Convox CLI',
      `${extras.cli.version} at ${extras.cli.path}${extras.cli.cached ? ' (from the tool cache)' : ''}`
    ])
  }
  const cells = rows.map(([what, value]) => `<tr><td>${what}</td><td>${escapeHtml(value)}</td></tr>`)
  appendSummary(
    `<h3>Convox login</h3>\n<table><tr><th>What</th><th>Value</th></tr>${cells.join('')}</table>\n`
  )
}

/** Values come partly from the API (rack names, versions); the summary is HTML. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
