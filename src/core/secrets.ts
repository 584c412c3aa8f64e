import type { BasicUser } from './credential.ts'

/** Every user name a secret can be sent with: a rack access token goes with `jwt`. */
const USERS: readonly BasicUser[] = ['convox', 'jwt']

/**
 * Every form in which a key can appear on the wire or in a variable. All of them are masked
 * before anything is printed, and all of them are scrubbed from text that comes from a server.
 */
export function secretForms(password: string, host?: string): string[] {
  // The Basic credentials of both user names a rack takes (docs/convox.md section 3.1), and the
  // whole header value, which a server echoing the request would quote.
  const basic = USERS.map(user => Buffer.from(`${user}:${password}`).toString('base64'))
  const forms = [password, ...basic, ...basic.map(b => `Basic ${b}`), encodeURIComponent(password)]
  if (host) forms.push(...rackUrls(host, password))
  return [...new Set(forms.filter(f => f.length > 0))]
}

/** The RACK_URL the v3 CLI needs to reach a rack directly. */
export function rackUrl(host: string, password: string, user: BasicUser = 'convox'): string {
  return `https://${user}:${encodeURIComponent(password)}@${host}`
}

/** The RACK_URL of a key with each user name, to mask before the login knows which it is. */
export function rackUrls(host: string, password: string): string[] {
  return USERS.map(user => rackUrl(host, password, user))
}

/** Removes secrets from text we did not write ourselves (server bodies, system error messages). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  // Longest first: a form that contains another (the header value its base64) goes whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) out = out.split(secret).join('***')
  }
  return out
}
