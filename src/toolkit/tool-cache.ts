import type { CliDownloader } from '../core/cli-install/install.ts'
import { HttpStatusError } from '../core/cli-install/install.ts'

/**
 * The CLI download on @actions/tool-cache: its retries (3 attempts, 10 to 20 s apart, for network
 * errors, 408, 429 and 5xx) and its cache layout. Loaded at the first download only: its bundle
 * (dist/vendor/tool-cache.cjs, with its own @actions/core, @actions/http-client and undici) costs
 * more to load than a whole login (docs/bundler.md).
 */
export const toolCacheDownloader: CliDownloader = {
  async download(url, file) {
    const tc = await import('@actions/tool-cache')
    try {
      await tc.downloadTool(url, file)
    } catch (error) {
      if (error instanceof tc.HTTPError) throw new HttpStatusError(error.httpStatusCode ?? 0)
      throw error
    }
  },
  async cache(file, { toolCacheDir, tool, version, arch, name }) {
    const tc = await import('@actions/tool-cache')
    // cacheFile takes the cache's root from the environment only; on a runner this is its own value.
    process.env.RUNNER_TOOL_CACHE = toolCacheDir
    await tc.cacheFile(file, name, tool, version, arch)
  }
}
