/**
 * Every form in which a key can appear on the wire or in a variable. All of them are masked
 * before anything is printed, and all of them are scrubbed from text that comes from a server.
 */
export function secretForms(password: string, host?: string): string[] {
  const forms = [password, Buffer.from(`convox:${password}`).toString('base64'), encodeURIComponent(password)]
  if (host) forms.push(rackUrl(host, password))
  return [...new Set(forms.filter(f => f.length > 0))]
}

/** The RACK_URL the v3 CLI needs to reach a rack directly. */
export function rackUrl(host: string, password: string): string {
  return `https://convox:${encodeURIComponent(password)}@${host}`
}

/** Removes secrets from text we did not write ourselves (server bodies, system error messages). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('***')
  }
  return out
}
