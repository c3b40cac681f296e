import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { FST_SSR_BUNDLE_LOAD } from './errors'
import type { ResolvedOptions } from './options'
import { PoolError, RenderPool, type PoolEvents } from './render/pool'
import { compileBundle } from './render/sandbox'

/** A server bundle read and checked in the main thread, before any worker runs it. */
export interface BundleSource {
  path: string
  source: string
  /** V8 code cache from the syntax check, handed to the workers. */
  cachedData: Buffer
  /** Content hash of the source; part of every cache key. */
  version: string
}

/** A bundle running in a pool of its own. */
export interface LoadedBundle {
  path: string
  version: string
  loadedAt: Date
  pool: RenderPool
}

export type { PoolEvents } from './render/pool'

/**
 * How long a new pool's first worker may take to start and load the bundle. Its own bound, not a multiple of the
 * render deadline: a short renderTimeout must not fail start-up on a busy machine.
 */
export const workerStartTimeoutMs = 60_000

/** Reads the bundle, checks its syntax and hashes it. Throws FST_SSR_BUNDLE_LOAD naming the path and cause. */
export async function readBundle (path: string): Promise<BundleSource> {
  try {
    const source = await readFile(path, 'utf8')
    const cachedData = compileBundle(source, path)
    return { path, source, cachedData, version: createHash('sha256').update(source).digest('hex').slice(0, 16) }
  } catch (error) {
    throw new FST_SSR_BUNDLE_LOAD(path, (error as Error).message, { cause: error })
  }
}

/**
 * Starts a pool on the bundle and waits until a worker has loaded it and found its render function (a `check` task).
 * On failure the pool is destroyed and FST_SSR_BUNDLE_LOAD thrown: nothing is left running.
 */
export async function startBundle (bundle: BundleSource, options: ResolvedOptions, events: PoolEvents): Promise<LoadedBundle> {
  const pool = new RenderPool({
    threads: options.threads,
    maxHeapMb: options.maxHeapMb,
    maxRendersPerWorker: options.maxRendersPerWorker,
    pinThreads: options.pinThreads,
    workerData: {
      bundlePath: bundle.path,
      source: bundle.source,
      cachedData: bundle.cachedData,
      renderFunction: options.renderFunction,
      globals: options.globals,
      compression: options.compression
    }
  }, events)
  let failure
  try {
    failure = await pool.ready(workerStartTimeoutMs)
  } catch (error) {
    await pool.destroy()
    const cause = error instanceof PoolError ? error.cause : error
    throw new FST_SSR_BUNDLE_LOAD(bundle.path, `the worker could not start (${describeCause(cause)})`, { cause })
  }
  if (failure !== null) {
    await pool.destroy()
    throw new FST_SSR_BUNDLE_LOAD(bundle.path, failure.message)
  }
  return { path: bundle.path, version: bundle.version, loadedAt: new Date(), pool }
}

function describeCause (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
