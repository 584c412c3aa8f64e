import { tmpdir } from 'node:os'
import { installCli } from '../core/cli-install/install.ts'
import { realClock } from '../core/clock.ts'
import { actionsExecRunner } from '../toolkit/exec.ts'
import { toolCacheDownloader } from '../toolkit/tool-cache.ts'
import type { Ci } from './ci.ts'
import { handOverPath } from './handover.ts'
import { cliLog } from './log.ts'
import type { Context, InstallSettings } from './options.ts'
import { namingOf } from './options.ts'
import { failure, masking, stderr, stdout } from './streams.ts'

/** `convox-login install-cli`: the core's installer into a cache of our own, handed over like a login. */

export async function install(settings: InstallSettings, ctx: Context): Promise<number> {
  const log = cliLog(stderr)
  const { runner } = await masking(ctx.ci, settings.target, ctx.env)
  try {
    const cli = await keepingStdout(ctx.ci, () =>
      installCli({
        version: settings.version,
        downloadUrl: settings.downloadUrl,
        platform: process.platform,
        arch: process.arch,
        // The tool cache's layout, one directory per version, under --cache-dir.
        toolCacheDir: settings.cacheDir,
        tempDir: tmpdir(),
        downloader: toolCacheDownloader,
        programs: actionsExecRunner,
        environment: ctx.env,
        log,
        naming: namingOf(ctx),
        clock: realClock,
        proxyEnv: ctx.env
      })
    )
    handOverPath({ target: settings.target, stdout, env: ctx.env, runner }, cli.dir, {
      'cli-version': cli.version,
      'cli-path': cli.path
    })
    return 0
  } catch (error) {
    return failure(error, log)
  }
}

/**
 * tool-cache, which downloads on a cache miss, logs through its own copy of @actions/core: runner
 * commands on stdout, where the handover goes. Off a GitHub runner they mean nothing, so while it
 * runs its debug lines are dropped and anything else it writes goes to stderr.
 */
async function keepingStdout<T>(ci: Ci, fn: () => Promise<T>): Promise<T> {
  if (ci.name === 'github') return fn()
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk)
    if (!text.startsWith('::debug::')) process.stderr.write(text)
    const done = rest.find(arg => typeof arg === 'function') as (() => void) | undefined
    done?.()
    return true
  }) as typeof process.stdout.write
  try {
    return await fn()
  } finally {
    process.stdout.write = write
  }
}
