import { join } from 'node:path'
import { Piscina } from 'piscina'
import type { RenderOutcome, RenderTask, WorkerData } from './protocol'

export interface PoolOptions extends WorkerData {
  threads: number
  maxHeapMb: number | null
}

export interface PoolStats {
  threads: number
  busyThreads: number
  queueSize: number
  utilization: number
  completed: number
  workerRestarts: number
  runTime: { p50: number, p90: number, p99: number, mean: number }
  waitTime: { p50: number, p90: number, p99: number, mean: number }
}

/** Why a pool task ended without an outcome. */
export type PoolFailure = 'aborted' | 'crashed' | 'closed'

export class PoolError extends Error {
  constructor (readonly kind: PoolFailure, cause: unknown) {
    super(`render task ${kind}`, { cause })
  }
}

/**
 * The piscina pool that renders. It knows threads and tasks, not HTTP: deadlines arrive as AbortSignals and
 * failures leave as PoolError, for the engine to turn into responses.
 */
export class RenderPool {
  readonly #piscina: Piscina<RenderTask, RenderOutcome>
  #replaced = 0
  #running = 0
  #closed = false

  constructor (options: PoolOptions, onWorkerError: (error: unknown) => void) {
    const workerData: WorkerData = {
      bundlePath: options.bundlePath,
      source: options.source,
      renderFunction: options.renderFunction,
      globals: options.globals,
      cachedData: options.cachedData
    }
    this.#piscina = new Piscina({
      filename: join(__dirname, 'worker.js'),
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Infinity,
      // Workers run a normal event loop between tasks, so a bundle's timers fire as they would in a browser.
      atomics: 'disabled',
      recordTiming: true,
      workerData,
      ...(options.maxHeapMb === null ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } })
    })
    // Piscina keeps minThreads alive, so every worker destroyed before the pool closes is replaced.
    this.#piscina.on('workerDestroy', () => { if (!this.#closed) this.#replaced++ })
    // A worker that dies between tasks (a bundle's timer throwing after its render returned) surfaces here;
    // piscina has already replaced it. Without a listener the main thread would crash.
    this.#piscina.on('error', onWorkerError)
  }

  get queueSize (): number {
    return this.#piscina.queueSize
  }

  /** Renders in flight or waiting, as seen by callers. */
  get pending (): number {
    return this.#running
  }

  async run (task: RenderTask, signal: AbortSignal): Promise<RenderOutcome> {
    if (this.#closed) throw new PoolError('closed', null)
    this.#running++
    try {
      return await this.#piscina.run(task, { signal })
    } catch (error) {
      if (signal.aborted) throw new PoolError('aborted', signal.reason)
      if (this.#closed) throw new PoolError('closed', error)
      throw new PoolError('crashed', error)
    } finally {
      this.#running--
    }
  }

  /** Mean queue wait in milliseconds, measured by piscina over the tasks it ran. */
  get meanWaitMs (): number {
    const mean = this.#piscina.histogram.waitTime.mean
    return Number.isFinite(mean) ? mean : 0
  }

  stats (): PoolStats {
    const { runTime, waitTime } = this.#piscina.histogram
    const pick = (h: typeof runTime) => ({ p50: finite(h.p50), p90: finite(h.p90), p99: finite(h.p99), mean: finite(h.mean) })
    return {
      threads: this.#piscina.threads.length,
      busyThreads: Math.max(0, this.#piscina.threads.length - this.#piscina.idleThreads),
      queueSize: this.#piscina.queueSize,
      utilization: finite(this.#piscina.utilization),
      completed: this.#piscina.completed,
      workerRestarts: this.#replaced,
      runTime: pick(runTime),
      waitTime: pick(waitTime)
    }
  }

  async destroy (): Promise<void> {
    this.#closed = true
    await this.#piscina.destroy()
  }
}

function finite (value: number): number {
  return Number.isFinite(value) ? value : 0
}
