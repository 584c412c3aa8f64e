import * as core from '@actions/core'

/** The only place that knows state keys: main records, post reads. */
const IS_POST = 'isPost'
const JOURNAL = 'journal'

export const state = {
  isPost: (): boolean => core.getState(IS_POST) === 'true',
  markMainRan: (): void => core.saveState(IS_POST, 'true'),
  /** Path of this step's undo journal (under RUNNER_TEMP); empty when there is nothing to undo. */
  journalPath: (): string => core.getState(JOURNAL),
  setJournalPath: (path: string): void => core.saveState(JOURNAL, path)
}
