// A measuring stick for `npm run bench`, not part of the action: the least a Rack login can do,
// written as one script with no structure. It masks the key, sends GET /auth and GET /system,
// writes auth, host and console atomically, saves an undo journal and the state, and exports the
// variables, outputs and summary, as the action does, but it has none of the action's input
// checks, kind detection, retry, error sentences or merging rules. docs/performance.md compares
// the action with it: what separates them is the cost of the action's own code.
'use strict'
// node:tls first, as the action loads it (src/builtins.ts).
const tls = require('node:tls')
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

// HTTP/1.1 straight onto one TLS connection, as the action's client does (src/convox/https.ts),
// reading only what the fake Rack sends: a chunked or Content-Length body.
const [hostname, port] = host.split(':')
const socket = tls.connect({ host: hostname, port: Number(port), ca: input('ca-cert') })
let received = ''
let onAnswer
socket.setEncoding('latin1')
socket.on('data', chunk => {
  received += chunk
  const headEnd = received.indexOf('\r\n\r\n')
  if (headEnd < 0) return
  const head = received.slice(0, headEnd)
  const length = /\r\ncontent-length: *(\d+)/.exec(head.toLowerCase())
  let body
  if (length && received.length >= headEnd + 4 + Number(length[1])) body = received.slice(headEnd + 4)
  if (!length && received.endsWith('\r\n0\r\n\r\n')) {
    body = ''
    for (let at = headEnd + 4, size; (size = parseInt(received.slice(at), 16)) > 0; at += size + 2) {
      at = received.indexOf('\r\n', at) + 2
      body += received.slice(at, at + size)
    }
  }
  if (body === undefined) return
  received = ''
  onAnswer({ status: Number(head.slice(9, 12)), body: Buffer.from(body, 'latin1').toString('utf8') })
})
socket.on('error', error => onAnswer(Promise.reject(error)))
const get = path =>
  new Promise(resolve => {
    onAnswer = resolve
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Basic ${basic}\r\nUser-Agent: convox-login\r\n\r\n`
    )
  })

async function main() {
  fs.writeSync(1, command('group', `Validate the key on ${host}`))
  const auth = await get('/auth')
  if (auth.status !== 200) throw new Error(`GET /auth answered ${auth.status}`)
  fs.writeSync(1, `${host} is a Rack\n${command('endgroup', '')}`)
  const system = JSON.parse((await get('/system')).body)
  fs.writeSync(1, `Rack ${system.name}: ${system.status}\n`)
  socket.destroy()

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
