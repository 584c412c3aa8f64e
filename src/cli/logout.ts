import { undoSettings } from '../core/settings/settings.ts'
import { unsetLines } from './formats.ts'
import type { CliLog } from './log.ts'
import type { LogoutSettings } from './options.ts'
import { readLogins, writeLogins } from './state-file.ts'
import { logoutTerminalNote } from './terminal.ts'

/**
 * convox-login logout: undoes the last login recorded for the settings directory, as the action's
 * post step does, and prints the lines that unset the variables that login handed a shell, so that
 * `eval "$(convox-login logout)"` leaves the shell as `eval "$(convox-login login)"` found it.
 * Always exits 0: a problem is a warning, the work it would undo is done.
 */
export function logout(settings: LogoutSettings, log: CliLog, stdout: (text: string) => void): number {
  let stack
  try {
    stack = readLogins(settings.stateFile)
  } catch (error) {
    log.warning(`Could not undo the Convox login: ${(error as Error).message}`)
    return 0
  }
  const last = stack.logins.pop()
  if (!last) {
    log.info(`Nothing to undo: no login is recorded in ${settings.stateFile} for ${settings.configDir}.`)
    return 0
  }
  const { journal, exported } = last
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
    writeLogins(settings.stateFile, stack)
  } catch (error) {
    // It holds the previous settings, other hosts' keys among them.
    log.warning(`Could not update the undo record ${settings.stateFile}: ${(error as Error).message}`)
  }
  if (settings.shell === 'terminal') {
    if (exported.length > 0) log.info(logoutTerminalNote(exported))
  } else if (settings.shell !== 'none') {
    stdout(unsetLines(settings.shell, exported))
  }
  return 0
}
