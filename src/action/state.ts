import { getState, saveState } from './runner.ts'

/** The only place that knows state keys: main records, post reads. */
const IS_POST = 'isPost'
const JOURNAL = 'journal'

export const state = {
  isPost: (): boolean => getState(IS_POST) === 'true',
  markMainRan: (): void => saveState(IS_POST, 'true'),
  /** Path of this step's undo journal (under RUNNER_TEMP); empty when there is nothing to undo. */
  journalPath: (): string => getState(JOURNAL),
  setJournalPath: (path: string): void => saveState(JOURNAL, path)
}
