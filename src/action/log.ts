import { secretForms } from '../core/secrets.ts'
import type { Log } from '../core/log.ts'
import * as runner from './runner.ts'

/** The Convox logic's Log, on the runner: every secret form is masked as soon as it exists. */
export const actionLog: Log = {
  info: runner.info,
  warning: runner.warning,
  debug: runner.debug,
  secret: value => runner.setSecret(...secretForms(value)),
  group: runner.group
}
