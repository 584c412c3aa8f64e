import { post, run } from './action/main.ts'
import { state } from './action/state.ts'

// One bundle serves both steps of action.yml; the post step is told apart by the state main saved.
// The process exits as soon as the step's work is done, rather than after Node's own shutdown: a few
// milliseconds of every step (docs/performance.md). Nothing is left by then: the log and every file
// are written synchronously, the API's connections are closed, and a CLI download drains what
// tool-cache logged (main.ts).
void (state.isPost() ? post() : run()).finally(() => process.exit())
