import { post, run, unexpectedError } from './action/main.ts'
import { setFailed, warning } from './action/runner.ts'
import { state } from './action/state.ts'

// One bundle serves both steps of action.yml; the post step is told apart by the state main saved.
// The process exits as soon as the step's work is done, rather than after Node's own shutdown: a few
// milliseconds of every step (docs/performance.md). Nothing is left by then: the log and every file
// are written synchronously, the API's connections are closed, and a CLI download drains what
// tool-cache logged (main.ts).
const isPost = state.isPost()
void (isPost ? post() : run()).then(
  () => process.exit(),
  (error: unknown) => {
    // run and post report their own failures; what reaches here escaped them (a log or state file
    // that cannot be written). A post step only cleans up and never fails the job; a main step that
    // did not finish must not pass for a success.
    if (isPost) warning(unexpectedError(error))
    else setFailed(unexpectedError(error))
    process.exit()
  }
)
