import { performance } from 'node:perf_hooks'
import type { PoolStats } from './pool-types'
import type { WorkerSlot } from './slot'

/**
 * What the pool counts: tasks in flight (drain() waits for none), renders completed, workers replaced, time spent
 * rendering (utilization), and a running estimate of the queue wait (Retry-After).
 */
export class PoolMeter {
  /** Tasks handed to the pool and not settled: running, or waiting for a thread. */
  inFlight = 0
  completed = 0
  restarts = 0
  readonly #threads: number
  #busyMs = 0
  readonly #startedAt = performance.now()
  #recentWaitMs: number | null = null
  #typicalRenderMs: number | null = null
  readonly #drained: Array<() => void> = []

  constructor (threads: number) {
    this.#threads = threads
  }

  /** The recent queue wait of renders in ms: until a worker started them, or their deadline dropped them; 0 before any. */
  get recentWaitMs (): number {
    return this.#recentWaitMs ?? 0
  }

  /** A running estimate of the time a worker spends on one render, ms; null before the first. */
  get typicalRenderMs (): number | null {
    return this.#typicalRenderMs
  }

  /** A render a worker answered: `renderMs` in the worker, after `queueWaitMs` anywhere else. */
  rendered (renderMs: number, queueWaitMs: number): void {
    this.completed++
    this.#busyMs += renderMs
    this.#typicalRenderMs = this.#typicalRenderMs === null ? renderMs : this.#typicalRenderMs + (renderMs - this.#typicalRenderMs) / 10
    this.waited(queueWaitMs)
  }

  waited (ms: number): void {
    ms = Math.max(0, ms)
    // The first render sets the estimate and each later one moves it a fifth of the way: one odd render does not
    // swing Retry-After, a lasting change shows within a few.
    this.#recentWaitMs = this.#recentWaitMs === null ? ms : this.#recentWaitMs + (ms - this.#recentWaitMs) / 5
  }

  /** A task settled (answered, failed or dropped). */
  settled (): void {
    if (--this.inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve()
  }

  /** Resolves once no task is in flight. */
  async drained (): Promise<void> {
    if (this.inFlight === 0) return
    await new Promise<void>((resolve) => this.#drained.push(resolve))
  }

  stats (slots: ReadonlySet<WorkerSlot>, queueSize: number): PoolStats {
    let busy = 0
    let ringBodiesHeld = 0
    for (const slot of slots) {
      if (slot.jobs.length > 0) busy++
      ringBodiesHeld += slot.ringHeld
    }
    const elapsed = performance.now() - this.#startedAt
    return {
      threads: slots.size,
      busyThreads: busy,
      queueSize,
      // Share of the threads' time spent rendering since the pool started, 0 to 1.
      utilization: elapsed <= 0 ? 0 : Math.min(1, this.#busyMs / (elapsed * this.#threads)),
      completed: this.completed,
      workerRestarts: this.restarts,
      ringBodiesHeld
    }
  }
}
