// Starts the loopback fake Convox for the CI workflow's `uses: ./` job and keeps it running:
//   node scripts/fake-server.ts <kind rack|console> <password> <output-dir>
// writes <output-dir>/host and <output-dir>/ca.pem, then serves until killed.
import fs from 'node:fs'
import path from 'node:path'
import { startFakeConvox } from '../test-support/fake-convox.ts'

const [kind = 'rack', password = 'demo-rack-key', dir = '.'] = process.argv.slice(2)
const fake =
  kind === 'console'
    ? await startFakeConvox({
        kind: 'console',
        users: [{ token: password, id: 'user-1234' }],
        racks: [{ org: 'acme', name: 'production', password: 'unused' }]
      })
    : await startFakeConvox({ kind: 'rack', rack: { name: 'production', password } })
fs.mkdirSync(dir, { recursive: true })
fs.writeFileSync(path.join(dir, 'host'), fake.host)
fs.writeFileSync(path.join(dir, 'ca.pem'), fake.caCert)
console.log(`fake ${kind} listening on ${fake.host}`)
