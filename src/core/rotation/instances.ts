import { ConvoxError } from '../errors.ts'
import { parseJson } from '../http/json.ts'
import { serverText } from '../http/server-text.ts'
import type { SecretStore } from '../stores/store.ts'
import {
  instancesRefused,
  instancesUnsupported,
  keyPairPutRefused,
  keyPairUnreadable,
  keyStoreFailed
} from './messages.ts'
import type { RackRecord, RotationContext } from './requests.ts'
import { instancesKeyroll, readRecord, readStatus, updateParams } from './requests.ts'
import { endOfUpdate, waitForRunning, waitForUpdate } from './wait.ts'

/**
 * The instances' SSH key (`convox instances keyroll`, docs/convox.md section 7).
 * - v2: POST /instances/keyroll starts a CloudFormation update, ridden out on GET /system. A rack
 *   already updating is waited for first: CloudFormation refuses a second update meanwhile, and
 *   its UPDATE_IN_PROGRESS answer is waited out and asked again, not reported.
 * - v3 (AWS): the answer is a new key pair, not applied yet. Its private key is masked at once and
 *   saved to the store before anything applies it; then `key_pair_name` goes through Console as
 *   any rack parameter, and that update is ridden out. A POST creates a key pair in the cloud
 *   account each time, so it is never sent twice.
 */

const MAX_POSTS = 3
const KEY_PAIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/

export interface InstancesRotation {
  ms: number
  /** v3: the new key pair's name (never its private key). */
  keyPairName?: string
}

export async function rollInstancesV2(ctx: RotationContext, deadline: number): Promise<InstancesRotation> {
  const { clock, log } = ctx
  const start = clock.now()
  const what = 'the instances to get their new SSH key'
  for (let posts = 1; ; posts++) {
    const status = await readStatus(ctx)
    if (!status.ok || status.value !== 'running') {
      log.info(
        `${ctx.name} is ${status.ok ? status.value : `not answering (${status.reason})`}: waiting for it to be running before rolling the instance keys.`
      )
      await waitForRunning(ctx, 'system', `${ctx.name} to be running`, deadline)
    }
    log.info(`Asking ${ctx.name} for new instance SSH keys (POST /instances/keyroll).`)
    const answer = await instancesKeyroll(ctx)
    if (answer.ok) break
    if (answer.status === 501) throw new ConvoxError(instancesUnsupported(ctx.name))
    if (/UPDATE_IN_PROGRESS/.test(answer.reason) && posts < MAX_POSTS) {
      log.info(
        'CloudFormation is still busy with another update of the rack: waiting for it, then asking again.'
      )
      await waitForUpdate(ctx, {
        what: `${ctx.name} to be running`,
        ask: 'system',
        firstPollAfterMs: 0,
        deadline
      })
      continue
    }
    if (answer.transient) {
      // The answer may have been lost after the rack started: its status tells.
      const after = await readStatus(ctx)
      if (after.ok && after.value !== 'running') break
    }
    throw new ConvoxError(instancesRefused(ctx.name, answer.reason))
  }
  log.info('The rack started replacing its instances; waiting for the update to end.')
  await endOfUpdate(ctx, { what, ask: 'system', firstPollAfterMs: ctx.timing.firstPollMs, deadline })
  return { ms: clock.now() - start }
}

export async function rollInstancesV3(
  ctx: RotationContext,
  record: RackRecord,
  store: SecretStore,
  deadline: number
): Promise<InstancesRotation> {
  const { clock, log } = ctx
  const start = clock.now()
  const current = await readRecord(ctx)
  const status = current.ok ? current.value.status : record.status
  if (status !== 'running') {
    log.info(`${ctx.name} is ${status}: waiting for that update to end before making a new key pair.`)
    await waitForRunning(ctx, 'record', `${ctx.name} to be running`, deadline)
  }
  log.info(`Asking ${ctx.name} for a new instance key pair (POST /instances/keyroll).`)
  const answer = await instancesKeyroll(ctx)
  if (!answer.ok) {
    if (answer.status === 501) throw new ConvoxError(instancesUnsupported(ctx.name))
    throw new ConvoxError(instancesRefused(ctx.name, answer.reason))
  }
  const pair = parseJson(answer.value.body) as Record<string, unknown> | undefined
  const privateKey = typeof pair === 'object' && pair !== null ? pair['private-key'] : undefined
  if (typeof privateKey === 'string') maskPrivateKey(ctx, privateKey)
  const rawName = typeof pair === 'object' && pair !== null ? pair.name : undefined
  const name = typeof rawName === 'string' ? serverText(rawName, ctx.forms, 255) : ''
  if (typeof privateKey !== 'string' || !privateKey.includes('PRIVATE KEY') || !KEY_PAIR_NAME.test(name)) {
    throw new ConvoxError(keyPairUnreadable(ctx.name))
  }
  try {
    await store.writeCurrent(privateKey)
  } catch (error) {
    const reason = serverText(error instanceof Error ? error.message : String(error), ctx.forms)
    throw new ConvoxError(keyStoreFailed(store, name, reason))
  }
  log.info(
    `Saved the private key of the new key pair ${name} to ${store.describe('current')}; applying it through Console (key_pair_name).`
  )
  const put = await updateParams(ctx, { key_pair_name: name }, record.version)
  if (!put.ok) {
    const after = put.transient ? await readRecord(ctx) : undefined
    if (!after?.ok || after.value.status === 'running') {
      throw new ConvoxError(keyPairPutRefused(ctx.name, name, store, put.reason))
    }
  }
  await endOfUpdate(ctx, {
    what: `the instances to use the key pair ${name}`,
    ask: 'record',
    firstPollAfterMs: ctx.timing.firstPollMs,
    deadline
  })
  return { ms: clock.now() - start, keyPairName: name }
}

/**
 * Before anything can print it: the key whole, each of its lines (a runner masks line by line),
 * and its JSON-escaped form, in which a server quoting the answer would carry it.
 */
function maskPrivateKey(ctx: RotationContext, privateKey: string): void {
  const lines = privateKey.split(/\r?\n/).filter(line => line.trim().length > 0)
  const forms = [privateKey, privateKey.trim(), JSON.stringify(privateKey).slice(1, -1), ...lines]
  for (const form of forms) ctx.log.secret(form)
  ctx.forms.push(...forms)
}
