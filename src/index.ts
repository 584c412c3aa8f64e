import * as core from '@actions/core'
import { post, run, unexpectedError } from './action/main.ts'
import { state } from './action/state.ts'

// One bundle serves both steps of action.yml; the post step is told apart by the state main saved.
const isPost = state.isPost()
void (isPost ? post() : run()).then(
  () => exit(),
  (error: unknown) => {
    // run and post report their own failures; what reaches here escaped them (a log or state file
    // that cannot be written). A post step only cleans up and never fails the job; a main step that
    // did not finish must not pass for a success.
    if (isPost) core.warning(unexpectedError(error))
    else core.setFailed(unexpectedError(error))
    exit()
  }
)

/**
 * Ends the step once its work is done, without waiting for anything a dependency may have left
 * open; but only after stdout has drained: on macOS and Windows runners it is asynchronous on a
 * pipe, and the last lines (an error among them) would be lost. The exit code is the one
 * setFailed set.
 */
function exit(): void {
  process.stdout.write('', () => process.exit())
}
