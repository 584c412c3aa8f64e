import * as core from '@actions/core'

/** The only place that knows state keys: main records, post reads. */
const MAIN_RAN = 'mainRan'
const JOURNAL = 'journal'

export const state = {
  /** Whether this job's main step started: a post step without it has nothing of its own to undo. */
  mainRan: (): boolean => core.getState(MAIN_RAN) === 'true',
  markMainRan: (): void => core.saveState(MAIN_RAN, 'true'),
  /** Path of this step's undo journal (under RUNNER_TEMP); empty when there is nothing to undo. */
  journalPath: (): string => core.getState(JOURNAL),
  setJournalPath: (path: string): void => core.saveState(JOURNAL, path)
}
