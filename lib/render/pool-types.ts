import type { Maybe } from '../thenable'
import type { RenderFailure, RenderOutcome, RenderTask, WorkerData } from './protocol'

/** The pool's vocabulary: how it is configured, what it reports, and how a task fails (PoolError). */

export interface PoolOptions {
  threads: number
  maxHeapMb: number | null
  /** Renders after which a worker is replaced; null never replaces a working one. */
  maxRendersPerWorker: number | null
  /** Pin each worker to a CPU of its own (Linux; see pinning.ts). */
  pinThreads?: boolean
  workerData: WorkerData
}

/** Timing of one render that reached a worker: queue wait and time in the worker, in milliseconds. */
export interface RenderTiming {
  queueWaitMs: number
  renderMs: number
}

/** Why a worker is being replaced: its render passed its deadline, it died, it rendered its share, or it was stopped. */
export type ReplaceReason = 'deadline' | 'crash' | 'recycled' | 'stopped'

export interface PoolEvents {
  /** A worker died while holding no render (a bundle's timer threw after its render returned); it is replaced. */
  workerError (error: unknown): void
  /** A worker was stopped or lost and a new one is starting in its place. */
  workerReplaced? (reason: ReplaceReason, threadId: number): void
  timing? (timing: RenderTiming): void
  /** A worker asked to pin itself has started: on which CPU, or why it runs unpinned. */
  pinned? (threadId: number, result: { cpu: number } | { failed: string }): void
}

export interface PoolStats {
  /** Worker threads, starting ones included (with recycling, one more than `threads`: the warm spare). */
  threads: number
  busyThreads: number
  /** Renders waiting for a thread. */
  queueSize: number
  /** Share of the threads' time spent on renders since the pool started, 0 to 1. */
  utilization: number
  completed: number
  workerRestarts: number
  /**
   * Pages sent once whose bytes the main thread still holds in the workers' rings (render/body-ring.ts): those on
   * their way to a socket, and those freed behind one still held. 0 once every response has been written.
   */
  ringBodiesHeld: number
}

/**
 * Why a task ended without an outcome. timeout: its deadline passed (before it started: dropped; running: its
 * worker was stopped). aborted: `abort()`, or its cancel signal before it started. crashed: its worker died.
 * closed: the pool was destroyed. unclonable: its data cannot be posted to a worker.
 */
export type PoolFailure = 'timeout' | 'aborted' | 'crashed' | 'closed' | 'unclonable'

export class PoolError extends Error {
  constructor (readonly kind: PoolFailure, cause: unknown) {
    super(`render task ${kind}`, { cause })
  }
}

/**
 * Where a task's cancel comes from, read only if the task has to wait: an AbortSignal (an AbortController's, or one
 * made on demand by a `signal` getter), or, when the source offers it, `listen`, which spares making one.
 */
export interface CancelSource {
  readonly signal?: AbortSignal
  /**
   * Calls `cancelled` once, with the reason, when the task is cancelled; returns what stops listening, or
   * `{ reason }` when it is cancelled already (then `cancelled` is never called). Making an AbortSignal and
   * listening to it cost ~7 µs of the main thread per waiting task on Node 20; a listener on the response, ~0.3 µs.
   */
  readonly listen?: (cancelled: (reason: unknown) => void) => (() => void) | { reason: unknown }
}

/**
 * What runs render tasks for a bundle: the pool of worker threads (pool.ts), or the main thread itself with
 * `threads: 0` (inline.ts). The renderer and the bundle host know only this.
 */
export interface TaskRunner {
  /** Resolves once the bundle can render: null, else its load failure (rejects with PoolError on a start failure). */
  ready (timeoutMs: number): Promise<RenderFailure | null>
  /** Tasks in flight (running or waiting) and the recent queue wait (ms), as admission reads them. */
  readonly load: { readonly inFlight: number, readonly recentWaitMs: number }
  /**
   * Runs a task by `deadline` (ms since the epoch); rejects with PoolError when it gives no outcome. The outcome
   * itself, not a promise, when it was had at once (`threads: 0`, a synchronous render).
   */
  run (task: RenderTask, deadline: number, cancel?: CancelSource): Maybe<RenderOutcome>
  abort (reason: unknown): void
  drain (): Promise<void>
  stats (): PoolStats
  destroy (): Promise<void>
}
