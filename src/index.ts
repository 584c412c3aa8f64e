import { post, run } from './action/main.ts'
import { state } from './action/state.ts'

// One bundle serves both steps of action.yml; the post step is told apart by the state main saved.
await (state.isPost() ? post() : run())
