import type { ConnectionOptions } from '../api.ts'
import type { Clock } from '../clock.ts'
import { formatExpiry } from '../credential.ts'
import { InputError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { Exchange, LoginResult } from '../login.ts'
import type { Naming } from '../naming.ts'
import { secretForms } from '../secrets.ts'
import type { SecretStore } from '../stores/store.ts'
import * as say from './messages.ts'
import type { MintedToken } from './mint.ts'
import { mintToken, verifyToken } from './mint.ts'
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
