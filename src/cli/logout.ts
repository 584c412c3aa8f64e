import { undoSettings } from '../core/settings/settings.ts'
import { cliLog } from './log.ts'
import type { LogoutSettings } from './options.ts'
import { readLogins, writeLogins } from './state-file.ts'
import { stderr } from './streams.ts'

/** Undoes the last login recorded for the settings directory, as the action's post step does. */
export function logout(settings: LogoutSettings): number {
  const log = cliLog(stderr)
  let logins
  try {
    logins = readLogins(settings.stateFile)
  } catch (error) {
    log.warning(`Could not undo the Convox login: ${(error as Error).message}`)
    return 0
  }
  const journal = logins.pop()
  if (!journal) {
    log.info(`Nothing to undo: no login is recorded in ${settings.stateFile} for ${settings.configDir}.`)
    return 0
  }
  try {
    if (journal.entries.length === 0 && journal.createdDirs.length === 0) {
      log.info(`The last login changed nothing in ${journal.dir}: nothing to undo.`)
    } else {
      undoSettings(journal, log)
      log.info(`Restored the Convox settings in ${journal.dir} to what they were before the login.`)
    }
  } catch (error) {
    log.warning(`Could not undo the Convox login: ${(error as Error).message}`)
  }
  try {
    writeLogins(settings.stateFile, logins)
  } catch (error) {
    // It holds the previous settings, other hosts' keys among them.
    log.warning(`Could not update the undo record ${settings.stateFile}: ${(error as Error).message}`)
  }
  return 0
}
