/**
 * Ends a step once its work is done, without waiting for anything a dependency may have left
 * open; but only after stdout has drained: on macOS and Windows runners it is asynchronous on a
 * pipe, and the last lines (an error among them) would be lost. The exit code is the one
 * setFailed set. `escaped` reports what the step's own error handling let through (a log or
 * state file that cannot be written).
 */
export function endStep(work: Promise<void>, escaped: (error: unknown) => void): void {
  const exit = () => process.stdout.write('', () => process.exit())
  void work.then(exit, (error: unknown) => {
    escaped(error)
    exit()
  })
}
