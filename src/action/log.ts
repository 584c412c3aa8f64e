import * as core from '@actions/core'
import type { Log } from '../core/log.ts'
import { secretForms } from '../core/secrets.ts'

/** The Convox logic's Log, on the runner: every secret form is masked as soon as it exists. */
export const actionLog: Log = {
  info: message => core.info(message),
  warning: message => core.warning(message),
  debug: message => core.debug(message),
  secret: value => {
    for (const form of secretForms(value)) core.setSecret(form)
  },
  group: (name, fn) => core.group(name, fn)
}
