import { appendFileSync } from 'node:fs'
import { delimiter } from 'node:path'
import type { Handover } from '../core/flow.ts'
import { writeAtomic } from '../core/settings/files.ts'
import type { ShellSyntax } from './formats.ts'
import { azureLines, azurePathLine, exportLines, jsonLine, pathLines, SECRET_VARIABLES } from './formats.ts'
import type { Target } from './options.ts'

/**
 * Hands a login or an installed CLI to later steps, the way the target wants: the runner's file
 * commands (GitHub, through @actions/core), CircleCI's BASH_ENV, or text on stdout. This module
 * decides where text goes; formats.ts what it says.
 */

/** The part of @actions/core the GitHub target uses: its commands, not a formatter of our own. */
export interface RunnerCommands {
  exportVariable(name: string, value: string): void
  setOutput(name: string, value: string): void
  addPath(dir: string): void
}

export interface Sink {
  target: Target
  stdout(text: string): void
  env: Readonly<Record<string, string | undefined>>
  runner?: RunnerCommands
}

const SHELLS: readonly string[] = ['sh', 'fish', 'pwsh', 'dotenv'] satisfies ShellSyntax[]

export function handOver(sink: Sink, handover: Handover): void {
  const { target } = sink
  if (target === 'github') {
    const runner = sink.runner!
    for (const name of handover.clear) runner.exportVariable(name, '')
    for (const [name, value] of Object.entries(handover.env)) runner.exportVariable(name, value)
    for (const [name, value] of Object.entries(handover.outputs)) runner.setOutput(name, value)
  } else if (target === 'bash-env') {
    appendFileSync(sink.env.BASH_ENV!, exportLines('sh', handover), { mode: 0o600 })
  } else if (target === 'azure') {
    sink.stdout(azureLines(handover))
  } else if (target === 'json') {
    sink.stdout(jsonLine(handover.outputs))
  } else if (SHELLS.includes(target)) {
    sink.stdout(exportLines(target as ShellSyntax, handover))
  }
}

export function handOverPath(sink: Sink, dir: string, outputs: Record<string, string>): void {
  const { target } = sink
  const path = sink.env.PATH ?? ''
  if (target === 'github') {
    sink.runner!.addPath(dir)
    for (const [name, value] of Object.entries(outputs)) sink.runner!.setOutput(name, value)
  } else if (target === 'bash-env') {
    appendFileSync(sink.env.BASH_ENV!, pathLines('sh', dir, path, delimiter), { mode: 0o600 })
  } else if (target === 'azure') {
    sink.stdout(azurePathLine(dir))
  } else if (target === 'json') {
    sink.stdout(jsonLine(outputs))
  } else if (SHELLS.includes(target)) {
    sink.stdout(pathLines(target as ShellSyntax, dir, path, delimiter))
  }
}

/**
 * A dotenv report for later jobs (GitLab's `artifacts: reports: dotenv`), without the key: GitLab
 * keeps reports with the job's artifacts, where anyone who may download them could read it.
 */
export function writeDotenvReport(file: string, handover: Handover): void {
  const env = Object.fromEntries(
    Object.entries(handover.env).filter(([name]) => !(SECRET_VARIABLES as readonly string[]).includes(name))
  )
  writeAtomic(file, exportLines('dotenv', { env, clear: handover.clear }))
}
