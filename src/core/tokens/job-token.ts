import type { ConnectionOptions } from '../api.ts'
import type { Clock } from '../clock.ts'
import type { TokenCredential } from '../credential.ts'
import { formatExpiry, parseRackUrl } from '../credential.ts'
import { InputError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { Exchange, LoginResult } from '../login.ts'
import type { Naming } from '../naming.ts'
import { secretForms } from '../secrets.ts'
import type { SecretStore } from '../stores/store.ts'
import * as say from './messages.ts'
import type { MintedToken } from './mint.ts'
import { mintToken, verifyToken } from './mint.ts'
import { revokeTokens } from './revoke.ts'
import type { MintSettings } from './options.ts'

/**
 * The job token in a login: after the key is validated and before anything is written, the key
 * is traded for a minted token, and the login goes on exactly as a token login does (no `auth`
 * entry, RACK_URL with user `jwt`, no CONVOX_PASSWORD). On a Console login the result names the
 * rack's own host, so neither the settings nor later steps hold the Console key.
 */

export interface JobTokenOptions extends MintSettings {
  /** Renewal: the minted RACK_URL goes here instead of to later steps. */
  store?: SecretStore
  /** Revocation: rotate the signing key first (needs `store`). */
  revoke?: {
    timeoutMs: number
    /** The RACK_URL the store held when this run began, and where it came from (for sentences). */
    stored?: { value: string; source: string }
  }
}

export interface JobTokenContext {
  host: string
  password: string
  connection: ConnectionOptions
  retryForMs: number
  clock: Clock
  log: Log
  naming: Naming
}

export function jobTokenExchange(
  settings: JobTokenOptions,
  ctx: JobTokenContext,
  onMinted: (minted: MintedToken) => void
): (api: Parameters<typeof mintToken>[0]['api'], result: LoginResult) => Promise<Exchange> {
  return async (api, result) => {
    if (result.kind === 'console' && !result.rack) {
      throw new InputError(
        `A job token is minted by a rack, and ${ctx.host} is a Console: set ${ctx.naming.ref('rack')} to the rack the token is for.`
      )
    }
    const { log } = ctx
    if (settings.revoke) return revokeExchange(settings, ctx, api, result, onMinted)
    const minted = await log.group(
      `Mint a ${settings.role} token for ${result.rack || ctx.host}`,
      async () => {
        const request = {
          ...settings,
          api,
          rack: result.kind === 'console' ? result.rack : undefined,
          rackVersion: result.rackVersion,
          connection: ctx.connection,
          retry: { budgetMs: ctx.retryForMs, clock: ctx.clock, log },
          secrets: secretForms(ctx.password, ctx.host),
          log,
          naming: ctx.naming
        }
        const token = await mintToken(request)
        await verifyToken(request, token)
        log.info(say.minted(token.credential.role, formatExpiry(token.credential.expiresAt), token.host))
        return token
      }
    )
    onMinted(minted)
    const tokenResult: LoginResult =
      result.kind === 'console'
        ? {
            ...result,
            host: minted.host,
            kind: 'rack',
            rack: result.rack.split('/').pop() ?? result.rack,
            userId: '',
            checked: [...result.checked, `a ${settings.role} token minted through Console for ${minted.host}`]
          }
        : {
            ...result,
            checked: [...result.checked, `a ${settings.role} token minted and checked (GET /auth)`]
          }
    return { password: minted.credential.secret, user: 'jwt', result: tokenResult }
  }
}

async function revokeExchange(
  settings: JobTokenOptions,
  ctx: JobTokenContext,
  api: Parameters<typeof mintToken>[0]['api'],
  result: LoginResult,
  onMinted: (minted: MintedToken) => void
): Promise<Exchange> {
  const { naming, log } = ctx
  if (result.kind === 'console') {
    throw new InputError(
      `${naming.set('revoke-tokens', 'true')} rotates a rack's signing key on the rack itself: log in to the rack's API host with its password, not through Console.`
    )
  }
  const stored = settings.revoke!.stored
  let storedToken: TokenCredential | undefined
  if (stored?.value) {
    let parsed
    try {
      parsed = parseRackUrl(stored.value, naming)
    } catch {
      throw new InputError(
        `${stored.source} does not hold a RACK_URL (https://jwt:<token>@<host>): pass the value the last run stored, or nothing on a first run.`
      )
    }
    if (parsed.credential.kind !== 'token' || parsed.host !== ctx.host) {
      throw new InputError(
        `${stored.source} holds a RACK_URL for another host or not a token: pass the value stored for ${ctx.host}, or nothing on a first run.`
      )
    }
    storedToken = parsed.credential
    for (const form of secretForms(storedToken.secret, ctx.host)) log.secret(form)
  }
  const revoked = await log.group(`Revoke every token of ${ctx.host}`, () =>
    revokeTokens({
      ...settings,
      api,
      rackVersion: result.rackVersion,
      connection: ctx.connection,
      retry: { budgetMs: ctx.retryForMs, clock: ctx.clock, log },
      secrets: secretForms(ctx.password, ctx.host),
      log,
      naming,
      clock: ctx.clock,
      store: settings.store!,
      stored: storedToken,
      timeoutMs: settings.revoke!.timeoutMs
    })
  )
  onMinted(revoked)
  return {
    password: revoked.credential.secret,
    user: 'jwt',
    result: {
      ...result,
      checked: [...result.checked, `every earlier token revoked; a ${settings.role} token stored`]
    }
  }
}
