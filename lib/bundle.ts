import { describeLoadError, type BundleSource } from './bundle/source'
import { FST_SSR_BUNDLE_LOAD } from './errors'
import type { ResolvedOptions } from './options'
import { RenderPool, type RenderTiming } from './render/pool'

export { readBundle, type BundleSource } from './bundle/source'

/** A bundle running in a pool of its own. */
export interface LoadedBundle {
  path: string
  version: string
  loadedAt: Date
  pool: RenderPool
}

/** What the pool reports to the engine, whichever bundle it runs. */
export interface PoolEvents {
  onWorkerError (error: unknown): void
  onTiming (timing: RenderTiming): void
  /** Something about a bundle worth a warning (a development build, …); it is loaded all the same. */
  onBundleWarning? (warning: string, path: string): void
}

/**
 * Starts a pool on the bundle and waits until a worker has loaded it and found its render function (a `check` task).
 * On failure the pool is destroyed and FST_SSR_BUNDLE_LOAD thrown: nothing is left running.
 */
export async function startBundle (bundle: BundleSource, options: ResolvedOptions, events: PoolEvents): Promise<LoadedBundle> {
  const pool = new RenderPool({
    bundlePath: bundle.path,
    source: bundle.source,
    cachedData: bundle.cachedData,
    renderFunction: options.renderFunction,
    globals: options.globals,
    browserGlobals: options.browserGlobals,
    threads: options.threads,
    maxHeapMb: options.maxHeapMb,
    maxRendersPerWorker: options.maxRendersPerWorker,
    compression: options.compression
  }, events.onWorkerError, events.onTiming)
  let outcome
  try {
    // A worker's start-up is not a render, but it needs a bound: ten render deadlines.
    outcome = await pool.run({ kind: 'check' }, { deadline: AbortSignal.timeout(options.renderTimeout * 10) })
  } catch (error) {
    await pool.destroy()
    throw new FST_SSR_BUNDLE_LOAD(bundle.path, `the worker could not start (${describeCause(error)})`, { cause: error })
  }
  if (!outcome.ok) {
    await pool.destroy()
    throw new FST_SSR_BUNDLE_LOAD(bundle.path, describeLoadError(outcome, bundle, bundle.path))
  }
  for (const warning of bundle.warnings) events.onBundleWarning?.(warning, bundle.path)
  return { path: bundle.path, version: bundle.version, loadedAt: new Date(), pool }
}

function describeCause (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
