import { describeLoadError, type BundleSource } from './source'
import { FST_SSR_BUNDLE_LOAD } from '../errors'
import type { ResolvedOptions } from '../options'
import { InlinePool } from '../render/inline'
import { PoolError, RenderPool, type PoolEvents, type TaskRunner } from '../render/pool'
import type { WorkerData } from '../render/protocol'

export { readBundle, type BundleSource } from './source'

/** A bundle running in a pool of its own (or, with `threads: 0`, in the main thread). */
export interface LoadedBundle {
  path: string
  version: string
  loadedAt: Date
  pool: TaskRunner
}

export type { PoolEvents } from '../render/pool'

/** What the engine hears about a bundle as it starts: its pool's events, and warnings about the bundle itself. */
export interface BundleEvents extends PoolEvents {
  /** Something about the bundle worth a warning (a development build, …); it is loaded all the same. */
  bundleWarning? (warning: string, path: string): void
}

/**
 * Starts a pool on the bundle and waits until a worker has loaded it and found its render function (a `check` task).
 * On failure the pool is destroyed and FST_SSR_BUNDLE_LOAD thrown: nothing is left running.
 */
export async function startBundle (bundle: BundleSource, options: ResolvedOptions, events: BundleEvents): Promise<LoadedBundle> {
  const workerData: WorkerData = {
    spinUs: options.handoffSpinUs,
    bundlePath: bundle.path,
    source: bundle.source,
    cachedData: bundle.cachedData,
    renderFunction: options.renderFunction,
    globals: options.globals,
    browserGlobals: options.browserGlobals,
    compression: options.compression
  }
  const pool: TaskRunner = options.threads === 0
    ? new InlinePool(workerData, events, options.startTimeout)
    : new RenderPool({
      threads: options.threads,
      maxHeapMb: options.maxHeapMb,
      maxRendersPerWorker: options.maxRendersPerWorker,
      pinThreads: options.pinThreads,
      workerData
    }, events)
  let failure
  try {
    // A worker's start-up is not a render: it has a bound of its own (startTimeout).
    failure = await pool.ready(options.startTimeout)
  } catch (error) {
    await pool.destroy()
    const cause = error instanceof PoolError ? error.cause : error
    throw new FST_SSR_BUNDLE_LOAD(bundle.path, `the worker could not start (${describeCause(cause)})`, { cause })
  }
  if (failure !== null) {
    await pool.destroy()
    throw new FST_SSR_BUNDLE_LOAD(bundle.path, describeLoadError(failure, bundle, bundle.path))
  }
  for (const warning of bundle.warnings) events.bundleWarning?.(warning, bundle.path)
  return { path: bundle.path, version: bundle.version, loadedAt: new Date(), pool }
}

function describeCause (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
