// node scripts/download-failures.ts: how long a CLI download that cannot succeed takes to fail,
// through the bundled command (`convox-login install-cli`) and the bundled action (`cli-version`),
// for a host that does not resolve, a port nobody listens on, and a version the mirror does not
// have (docs/performance.md). Run `npm run build` first: it times dist/ as a CI runs it.
//   FAILURE_RUNS=3   runs per case; the median is printed
import { cliAsset } from '../src/core/cli-install/release.ts'
import { INPUT_NAMING } from '../src/action/naming.ts'
import { startFakeMirror } from '../test-support/fake-mirror.ts'
import { machinePool, runCli } from '../test-support/run-cli.ts'
import { newRunner, removeRunner, runStep } from '../test-support/run-action.ts'
import { closedPort } from '../test-support/tls.ts'

const RUNS = Number(process.env.FAILURE_RUNS ?? 3)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const mirror = await startFakeMirror()
const version = '3.99.0'
const asset = cliAsset(version, process.platform, process.arch, INPUT_NAMING).asset
const cases: [string, string][] = [
  ['host does not resolve', 'https://cli.example.invalid/convox/{version}/{asset}'],
  ['connection refused', `https://127.0.0.1:${await closedPort()}/convox/{version}/{asset}`],
  ['404, no such version', `${mirror.url}/convox/{version}/{asset}`]
]
const machines = machinePool()

console.log(`Convox CLI ${version} (${asset}), ${RUNS} runs per case, median seconds to fail:`)
for (const [name, template] of cases) {
  const command: number[] = []
  const action: number[] = []
  let sentences: string[] = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    const cli = await runCli(
      machines.fresh(),
      ['install-cli', '--version', version, '--download-url', template],
      {
        timeoutMs: 120_000
      }
    )
    command.push((performance.now() - started) / 1000)
    if (cli.code !== 1) throw new Error(`${name}: the command exited ${cli.code}: ${cli.stderr}`)
    const runner = newRunner()
    const step = await runStep(
      runner,
      { host: 'rack.example.com', password: 'unused', 'cli-version': version, 'cli-download-url': template },
      { timeoutMs: 120_000 }
    )
    removeRunner(runner)
    action.push(step.durationMs / 1000)
    if (step.code !== 1) throw new Error(`${name}: the action exited ${step.code}: ${step.stdout}`)
    sentences = [cli.stderr.trim().split('\n').at(-1)!, step.error ?? '']
  }
  console.log(`\n${name}: command ${median(command).toFixed(1)} s, action ${median(action).toFixed(1)} s`)
  console.log(`  command: ${sentences[0]}\n  action:  ${sentences[1]}`)
}
machines.removeAll()
await mirror.close()
