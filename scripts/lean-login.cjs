// A measuring stick for `npm run bench`, not part of the action: the least a Rack login can do,
// written as one script with no structure. It masks the key, sends GET /auth and GET /system,
// writes auth, host and console atomically, saves an undo journal and the state, and exports the
// variables, outputs and summary, as the action does, but it has none of the action's input
// checks, kind detection, retry, error sentences or merging rules. docs/performance.md compares
// the action with it: what separates them is the cost of the action's own code.
'use strict'
const fs = require('node:fs')
const { randomBytes, randomUUID } = require('node:crypto')
const { join } = require('node:path')
const { homedir } = require('node:os')

const env = process.env
const input = name => (env[`INPUT_${name.toUpperCase()}`] ?? '').trim()
const command = (name, value) =>
  `::${name}::${value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`
const fileCommand = (variable, entries) => {
  const delimiter = `ghadelimiter_${randomUUID()}`
  const text = Object.entries(entries).map(([k, v]) => `${k}<<${delimiter}\n${v}\n${delimiter}\n`)
  fs.appendFileSync(env[variable], text.join(''))
}

fileCommand('GITHUB_STATE', { isPost: 'true' })
const password = input('password')
const host = input('host')
const basic = Buffer.from(`convox:${password}`).toString('base64')
const rackUrl = `https://convox:${password}@${host}`
fs.writeSync(
  1,
  [password, basic, encodeURIComponent(password), rackUrl].map(v => command('add-mask', v)).join('')
)

const https = require('node:https')
const agent = new https.Agent({ keepAlive: true, ca: input('ca-cert') })
const [hostname, port] = host.split(':')
const get = path =>
  new Promise((resolve, reject) => {
    const headers = { Authorization: `Basic ${basic}`, 'User-Agent': 'convox-login' }
    https
      .request({ host: hostname, port: Number(port), path, agent, headers }, res => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', chunk => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode, body }))
      })
      .on('error', reject)
      .end()
  })

async function main() {
  fs.writeSync(1, command('group', `Validate the key on ${host}`))
  const auth = await get('/auth')
  if (auth.status !== 200) throw new Error(`GET /auth answered ${auth.status}`)
  fs.writeSync(1, `${host} is a Rack\n${command('endgroup', '')}`)
  const system = JSON.parse((await get('/system')).body)
  fs.writeSync(1, `Rack ${system.name}: ${system.status}\n`)
  agent.destroy()

  const dir = join(homedir(), '.convox')
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { mode: 0o700 })
  const before = {}
  for (const name of ['auth', 'host', 'console', 'id', 'rack', 'current', 'racks']) {
    const file = join(dir, name)
    if (fs.existsSync(file) && fs.lstatSync(file).isFile()) before[name] = fs.readFileSync(file, 'utf8')
  }
  const auths = JSON.parse(before.auth || '{}')
  auths[host] = password
  for (const [name, content] of [
    ['auth', JSON.stringify(auths, null, 2)],
    ['host', host],
    ['console', host]
  ]) {
    const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`)
    fs.writeFileSync(temp, content, { mode: 0o600, flag: 'wx' })
    fs.renameSync(temp, join(dir, name))
  }
  const journal = join(fs.mkdtempSync(join(env.RUNNER_TEMP, 'convox-login-')), 'journal.json')
  fs.writeFileSync(journal, JSON.stringify({ dir, before }), { mode: 0o600 })
  fileCommand('GITHUB_STATE', { journal })
  fileCommand('GITHUB_ENV', {
    CONVOX_HOST: host,
    CONVOX_PASSWORD: password,
    CONVOX_CONFIG: dir,
    RACK_URL: rackUrl
  })
  fileCommand('GITHUB_OUTPUT', {
    host,
    kind: 'rack',
    rack: system.name,
    'rack-version': system.version,
    'rack-status': system.status,
    'rack-provider': system.provider,
    'user-id': '',
    'config-dir': dir
  })
  fs.appendFileSync(
    env.GITHUB_STEP_SUMMARY,
    `<h3>Convox login</h3>\n<table><tr><td>Host</td><td>${host}</td></tr></table>\n`
  )
}

main().then(
  () => process.exit(0),
  error => {
    fs.writeSync(1, command('error', error.message))
    process.exit(1)
  }
)
