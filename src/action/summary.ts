import * as core from '@actions/core'
import { formatExpiry } from '../core/credential.ts'
import type { FlowResult } from '../core/flow.ts'

/** The job summary: what was done, never a secret. Skipped outside GitHub Actions. */
export async function writeSummary({
  login: result,
  keyroll,
  rotation,
  cli,
  token,
  minted,
  actor
}: FlowResult): Promise<void> {
  // core.summary throws without the file; a runner always sets it, a local run does not.
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const rows: Array<[string, string]> = [
    ['Host', result.host],
    ['Kind', result.kind === 'console' ? 'Console' : 'Rack'],
    ['Rack', result.rack || '(none)'],
    ['Rack version', result.rackVersion || '(not read)'],
    ['Rack status', result.rackStatus || '(not read)'],
    ['Validated', result.checked.length ? result.checked.join('; ') : 'no (validate: false)'],
    ['Settings', result.configDir],
    ['Actor', actor || '(none sent)']
  ]
  if (token) {
    if (minted) {
      const where = minted.storedIn
        ? `minted by this step and stored in ${minted.storedIn}`
        : 'minted by this step; later steps have it instead of the key'
      rows.push(['Job token', where])
    }
    rows.push(['Token role', token.role], ['Token expires at', formatExpiry(token.expiresAt)])
  }
  if (keyroll) {
    rows.push(
      ['Keyroll', `${keyroll.resumed ? 'finished an earlier roll' : 'rolled'} in ${keyroll.seconds}s`],
      [
        'Old key revoked',
        keyroll.oldKeyRevoked ? 'yes' : 'no: the rack still accepts it until its API restarts'
      ]
    )
  }
  if (rotation?.password) {
    const how = rotation.password.resumed ? 'waited for an update under way' : 'rotated by Console'
    rows.push(['Rack password', `${how} in ${rotation.password.seconds}s`])
  }
  if (rotation?.instances) {
    const { seconds, keyPairName } = rotation.instances
    rows.push(['Instance SSH keys', `rolled in ${seconds}s${keyPairName ? `: key pair ${keyPairName}` : ''}`])
  }
  if (cli) {
    rows.push(['Convox CLI', `${cli.version} at ${cli.path}${cli.cached ? ' (from the tool cache)' : ''}`])
  }
  // core.summary puts cell text into the HTML as it is, and values come partly from the API.
  await core.summary
    .addHeading('Convox login', 3)
    .addTable([
      [
        { data: 'What', header: true },
        { data: 'Value', header: true }
      ],
      ...rows.map(([what, value]) => [what, escapeHtml(value)])
    ])
    .write()
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
