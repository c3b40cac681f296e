import { FST_SSR_QUEUE_FULL } from '../errors'

/**
 * Admission of renders: what `maxQueue` means, and what a shed request is told. Pure numbers in, a coded error out;
 * the renderer supplies the load, lib/http/failure.ts turns `retryAfter` into the Retry-After header.
 */

export interface RenderLoad {
  /** Renders handed to the pool and not settled: running or waiting. */
  inFlight: number
  threads: number
  /** The recent queue wait of renders, in ms. */
  recentWaitMs: number
}

export interface AdmissionLimits {
  maxQueue: number
  /** Fixed Retry-After seconds, or null to derive them from the measured wait. */
  retryAfter: number | null
}

export type QueueFullError = InstanceType<typeof FST_SSR_QUEUE_FULL> & { retryAfter: number }

/**
 * Throws FST_SSR_QUEUE_FULL (503) when `maxQueue` renders already wait for a thread. Renders beyond the thread
 * count are the ones waiting, so a new one is refused once `threads + maxQueue` are in flight. The count is the
 * pool's own (tasks handed over and not settled, running or queued). A worker being replaced still counts as a
 * thread: renders wait a little longer meanwhile, and the measured wait shows it.
 */
export function admit (load: RenderLoad, limits: AdmissionLimits): void {
  if (load.inFlight < load.threads + limits.maxQueue) return
  const error = new FST_SSR_QUEUE_FULL() as QueueFullError
  error.retryAfter = limits.retryAfter ?? retryAfterSeconds(load.recentWaitMs)
  throw error
}

/**
 * Seconds a shed client should wait: the time renders now spend queued, rounded up. At least 1 (the header counts
 * whole seconds, and 0 would invite an immediate retry into the same full queue). No upper bound is needed: no
 * render waits past its deadline, so neither does the measurement.
 */
export function retryAfterSeconds (recentWaitMs: number): number {
  return Math.max(1, Math.ceil(recentWaitMs / 1000))
}
