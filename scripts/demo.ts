// npm run demo: a newcomer's first contact. Starts the loopback fake Convox, runs the bundled
// action as a runner would (a Console login with a rack switch, then a direct Rack login), and
// shows the settings it wrote (keys masked), the variables it exported and its outputs. What the
// step printed is shown as the runner's log shows it: masking lines hidden, masked values as ***.
import fs from 'node:fs'
import path from 'node:path'
import { secretForms } from '../src/core/secrets.ts'
import { startFakeConvox } from '../test-support/fake-convox.ts'
import type { StepResult } from '../test-support/run-action.ts'
import { newRunner, removeRunner, runnerView, runStep } from '../test-support/run-action.ts'

const CONSOLE_TOKEN = 'demo-console-token-1234'
const RACK_KEY = 'demoRackKeyAbCdEf123456'
const mask = (text: string) =>
  [CONSOLE_TOKEN, RACK_KEY].flatMap(k => secretForms(k)).reduce((t, f) => t.split(f).join('***'), text)

function show(title: string, step: StepResult): void {
  console.log(`\n=== ${title}: exit code ${step.code}`)
  console.log("--- what the step printed, as the runner's log shows it")
  console.log(mask(runnerView(step.stdout).trim()))
  console.log(`--- files in ${step.outputs['config-dir']}`)
  const dir = step.outputs['config-dir'] ?? ''
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name)
    console.log(
      `${name} (mode ${(fs.statSync(file).mode & 0o777).toString(8)}): ${mask(fs.readFileSync(file, 'utf8'))}`
    )
  }
  console.log('--- exported to later steps')
  for (const [name, value] of Object.entries(step.env)) console.log(`${name}=${mask(value)}`)
  console.log('--- outputs')
  for (const [name, value] of Object.entries(step.outputs)) console.log(`${name}: ${mask(value)}`)
}

const consoleFake = await startFakeConvox({
  kind: 'console',
  users: [{ token: CONSOLE_TOKEN, id: 'user-1234' }],
  racks: [
    { org: 'acme', name: 'production', version: '20240101000000' },
    { org: 'acme', name: 'staging', version: '3.24.9', provider: 'eks' }
  ]
})
const rackFake = await startFakeConvox({ kind: 'rack', rack: { name: 'production', password: RACK_KEY } })
const runner = newRunner()
try {
  const consoleStep = await runStep(runner, {
    host: `https://${consoleFake.host}/`,
    password: CONSOLE_TOKEN,
    rack: 'acme/production',
    'ca-cert': consoleFake.caCert
  })
  show(`Console login on ${consoleFake.host}, switched to acme/production`, consoleStep)
  const rackStep = await runStep(runner, {
    host: rackFake.host,
    password: RACK_KEY,
    'ca-cert': rackFake.caCert,
    'config-dir': path.join(runner.temp, 'convox-rack')
  })
  show(`Direct Rack login on ${rackFake.host}`, rackStep)
  const post = await runStep(runner, {}, { postOf: consoleStep })
  console.log(
    `\n=== Post step of the Console login: exit code ${post.code}\n${mask(runnerView(post.stdout).trim())}`
  )
} finally {
  removeRunner(runner)
  await Promise.all([consoleFake.close(), rackFake.close()])
}
