import * as core from '@actions/core'
import { run, escapedError } from './action/main.ts'
import { endStep } from './action/end-step.ts'

// The main step (action.yml runs.main). The post step has its own entry, src/post.ts: telling
// the two apart by the state main saves would run a login in a post step whose main never
// started (skipped by an earlier failure, or killed before its first line).
// A main step that did not finish must not pass for a success.
endStep(run(), error => core.setFailed(escapedError(error)))
