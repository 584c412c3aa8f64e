import * as core from '@actions/core'
import type { Log } from '../core/log.ts'
import { secretForms } from '../core/secrets.ts'

/** The Convox logic's Log, on the runner: every secret form is masked as soon as it exists. */
export const actionLog: Log = {
  // core.info prints as it is, and the runner takes a line that starts (after white space) with
  // `::` for a command. Server text reaches messages through serverText, which cannot start a line;
  // this keeps any other slip from becoming one (core.warning and core.debug escape their own).
  info: message => core.info(message.replace(/^(\s*):(?=:)/gm, '$1: ')),
  warning: message => core.warning(message),
  debug: message => core.debug(message),
  secret: value => {
    for (const form of secretForms(value)) core.setSecret(form)
  },
  group: (name, fn) => core.group(name, fn)
}
