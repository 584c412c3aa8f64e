import * as core from '@actions/core'
import { ConvoxError } from '../core/errors.ts'
import type { Frontend } from '../core/flow.ts'
import { describeErrno } from '../core/fs-errors.ts'
import type { Journal } from '../core/settings/journal.ts'
import { journalDir, saveJournal } from './journal-file.ts'
import { actionLog } from './log.ts'
import { INPUT_NAMING } from './naming.ts'
import { state } from './state.ts'

/**
 * What the core's flow calls back into the runner for: its log and naming, the runner's file
 * commands for variables, outputs and PATH, and the undo journal the post step reads (with
 * `logout: false` none is kept).
 */
export function actionFrontend(logout: boolean): Frontend {
  let journalPath = ''
  return {
    log: actionLog,
    naming: INPUT_NAMING,
    publish: ({ env, clear, outputs }) => {
      for (const name of clear) core.exportVariable(name, '')
      for (const [name, value] of Object.entries(env)) core.exportVariable(name, value)
      for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
    },
    // Called before the settings change: if the post step could not find what to undo, the key
    // would stay on the runner after the job, so a journal that cannot be saved stops the step.
    saveJournal: (next: Journal) => {
      if (!logout || (next.entries.length === 0 && !journalPath)) return
      try {
        journalPath = saveJournal(next, journalPath)
        state.setJournalPath(journalPath)
      } catch (error) {
        const cause = describeErrno(error) ?? (error as Error).message
        throw new ConvoxError(
          `Cannot save the undo record in ${journalDir()} (${cause}), so the post step could not remove the key: ` +
            `the settings in ${next.dir} were left as they were. Check that RUNNER_TEMP is a directory this job can write, ` +
            'or set logout: false to keep the settings after the job.'
        )
      }
    },
    addPath: dir => core.addPath(dir)
  }
}
