import * as core from '@actions/core'
import { post, escapedError } from './action/main.ts'
import { endStep } from './action/end-step.ts'

// The post step (action.yml runs.post): it only undoes what main recorded, and never fails the job.
endStep(post(), error => core.warning(escapedError(error)))
