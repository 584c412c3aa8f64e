import { appendFileSync, writeSync } from 'node:fs'
import { EOL } from 'node:os'
import { randomUUID } from 'node:crypto'

/**
 * The runner's side of the protocol: workflow commands on stdout and file commands (GITHUB_ENV,
 * GITHUB_OUTPUT, GITHUB_STATE, GITHUB_PATH, GITHUB_STEP_SUMMARY), as the runner documents them
 * and @actions/core writes them. Written here rather than imported from @actions/core because core
 * loads its OIDC client, @actions/exec and @actions/io with it: about 7 ms of a login that must
 * start within 1.6x of bare Node (docs/performance.md). This is the only module that writes to the
 * runner; the action's other modules call it.
 */

/** An input as the runner passes it: `INPUT_<NAME>`, trimmed; empty when not given. */
export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
}

export function info(message: string): void {
  write(message + EOL)
}

export function debug(message: string): void {
  command('debug', message)
}

export function warning(message: string): void {
  command('warning', message)
}

/** Masks each value in every later line of the job's log. */
export function setSecret(...values: string[]): void {
  if (values.length === 0) return
  write(values.map(value => commandLine('add-mask', value)).join(''))
}

/** Logs the error and fails the step, as core.setFailed does: the process exits with 1. */
export function setFailed(message: string): void {
  process.exitCode = 1
  command('error', message)
}

export async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  command('group', name)
  try {
    return await fn()
  } finally {
    command('endgroup', '')
  }
}

/** For this process and the job's later steps. One write for all: a login exports several. */
export function exportVariables(variables: Record<string, string>): void {
  Object.assign(process.env, variables)
  fileCommand('GITHUB_ENV', variables)
}

export function setOutputs(outputs: Record<string, string>): void {
  fileCommand('GITHUB_OUTPUT', outputs)
}

/** For the post step of this action, which reads it back with getState. */
export function saveState(name: string, value: string): void {
  fileCommand('GITHUB_STATE', { [name]: value })
}

export function getState(name: string): string {
  return process.env[`STATE_${name}`] ?? ''
}

/** Prepends a directory to PATH, for this process and the job's later steps. */
export function addPath(dir: string): void {
  process.env.PATH = `${dir}${process.platform === 'win32' ? ';' : ':'}${process.env.PATH ?? ''}`
  appendTo('GITHUB_PATH', dir + EOL)
}

/**
 * Waits until what a dependency logged through process.stdout is out (tool-cache, during a CLI
 * download): on macOS and Windows that stream is asynchronous on a pipe, and the step exits at once
 * when its work is done. Our own lines never wait there (see write).
 */
export function drainStdout(): Promise<void> {
  return new Promise(resolve => process.stdout.write('', () => resolve()))
}

/** Appends Markdown or HTML to the job summary; skipped outside GitHub Actions. */
export function appendSummary(text: string): void {
  appendTo('GITHUB_STEP_SUMMARY', text)
}

/**
 * Each entry in the multi-line form, `name<<delimiter`, so a value may hold any character,
 * newlines included. The delimiter is random, so a value cannot end its entry early.
 */
function fileCommand(variable: string, entries: Record<string, string>): void {
  const delimiter = `ghadelimiter_${randomUUID()}`
  let text = ''
  for (const [name, value] of Object.entries(entries)) {
    if (name.includes(delimiter) || value.includes(delimiter)) {
      throw new Error(`the value of ${name} contains the file command's delimiter`)
    }
    text += `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`
  }
  appendTo(variable, text)
}

/**
 * Outside a runner the file is not set and the command has nowhere to go: skipped, as this module
 * serves GitHub Actions only (the login command for other CI systems will not use it).
 */
function appendTo(variable: string, text: string): void {
  const file = process.env[variable]
  if (file) appendFileSync(file, text, 'utf8')
}

function command(name: string, message: string): void {
  write(commandLine(name, message))
}

/** For a 1 ms pause between retries of a refused write, without an event loop turn. */
const WAIT = new Int32Array(new SharedArrayBuffer(4))

/**
 * Straight to file descriptor 1, not through process.stdout: creating that stream costs about 1.5 ms
 * of a login (docs/performance.md), and a synchronous write leaves nothing buffered when the step
 * exits. Once process.stdout does exist (tool-cache logs through it), Node has made the pipe
 * non-blocking, so a write can be cut short or refused (EAGAIN) while the runner catches up: the
 * rest is written after a pause.
 */
function write(text: string): void {
  let rest = Buffer.from(text, 'utf8')
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      Atomics.wait(WAIT, 0, 0, 1)
    }
  }
}

function commandLine(name: string, message: string): string {
  return `::${name}::${escapeData(message)}${EOL}`
}

/** The runner reads one command per line and un-escapes these three. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}
