import { join } from 'node:path'
import { Piscina } from 'piscina'
import {
  isTaskStarted, sharedClock, type PostedTask, type RenderOutcome, type RenderTask, type TaskReply, type WorkerData
} from './protocol'
import { Recycler, renderTag } from './recycle'

export interface PoolOptions extends Omit<WorkerData, 'retireChannel'> {
  threads: number
  maxHeapMb: number | null
  /** Renders after which a worker is replaced (see recycle.ts); null never replaces a working one. */
  maxRendersPerWorker?: number | null
}

/** Timing of one render that reached a worker: queue wait and time in the worker, in milliseconds. */
export interface RenderTiming {
  queueWaitMs: number
  renderMs: number
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

/** How a task may be stopped before it answers. */
export interface RunSignals {
  /** Stops the task wherever it is: dropped from the queue, or its worker terminated and replaced. */
  deadline: AbortSignal
  /**
   * Drops the task only while it waits for a thread. Once running it finishes: stopping it would cost a worker
   * (terminate, respawn, load the bundle again), more than letting it end within its deadline.
   */
  cancel?: AbortSignal
}

/** A task the pool has handed to piscina and not yet seen settle. */
interface Tracked {
  /** `sharedClock` time of submission. */
  queuedAt: number
  /** Set by the worker's start message: the task can no longer be dropped from the queue. */
  started: boolean
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
  readonly #piscina: Piscina<PostedTask, TaskReply>
  readonly #tasks = new Map<number, Tracked>()
  readonly #recycler: Recycler | null
  /** Resolved when the last task settles: see drain(). */
  readonly #drained: Array<() => void> = []
  #lastId = 0
  #recentWaitMs: number | null = null
  #restarts = 0
  #closed = false

  readonly #observe: (timing: RenderTiming) => void

  constructor (options: PoolOptions, onWorkerError: (error: unknown) => void, observe: (timing: RenderTiming) => void = () => {}) {
    this.#observe = observe
    const recycler = options.maxRendersPerWorker == null
      ? null
      : new Recycler(options.threads, options.maxRendersPerWorker, () => this.#piscina.threads.map((worker) => worker.threadId))
    this.#recycler = recycler
    const threads = recycler?.threads ?? options.threads
    const workerData: WorkerData = {
      bundlePath: options.bundlePath,
      source: options.source,
      renderFunction: options.renderFunction,
      globals: options.globals,
      browserGlobals: options.browserGlobals,
      cachedData: options.cachedData,
      compression: options.compression,
      retireChannel: recycler?.channelName ?? null
    }
    this.#piscina = new Piscina({
      filename: join(__dirname, 'worker.js'),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      // Workers run a normal event loop between tasks, so a bundle's timers fire as they would in a browser.
      atomics: 'disabled',
      recordTiming: true,
      workerData,
      ...(recycler === null ? {} : { loadBalancer: recycler.balancer }),
      ...(options.maxHeapMb === null ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } })
    })
    // Counted as a worker goes (crash, deadline, heap limit) rather than as its replacement arrives, so the count is
    // right by the time the failed task's caller hears of it.
    this.#piscina.on('workerDestroy', () => { if (!this.#closed) this.#restarts++ })
    this.#piscina.on('message', (message: unknown) => {
      if (!isTaskStarted(message)) return
      const tracked = this.#tasks.get(message.taskStarted)
      if (tracked !== undefined) tracked.started = true
    })
    // A worker that dies between tasks (a bundle's timer throwing after its render returned) surfaces here;
    // piscina has already replaced it. Without a listener the main thread would crash.
    this.#piscina.on('error', onWorkerError)
  }

  /** Tasks handed to the pool and not settled: running, or waiting for a thread. Counted here, not by piscina. */
  get inFlight (): number {
    return this.#tasks.size
  }

  /**
   * The recent queue wait of renders in ms: from submission until a worker took them, or until their deadline
   * dropped them from the queue (they waited at least that long). 0 before any render. Measured here because
   * piscina's histogram averages over the pool's whole life and never sees the renders that expired in its queue.
   */
  get recentWaitMs (): number {
    return this.#recentWaitMs ?? 0
  }

  async run (task: RenderTask, signals: RunSignals): Promise<RenderOutcome> {
    if (this.#closed) throw new PoolError('closed', null)
    const { deadline, cancel } = signals
    if (deadline.aborted) throw new PoolError('aborted', deadline.reason)
    if (cancel?.aborted === true) throw new PoolError('aborted', cancel.reason)
    const id = ++this.#lastId
    const tracked: Tracked = { queuedAt: sharedClock(), started: false }
    const controller = new AbortController()
    const onDeadline = (): void => {
      if (!tracked.started && task.kind === 'render') this.#recordWait(sharedClock() - tracked.queuedAt)
      controller.abort(deadline.reason)
    }
    const onCancel = (): void => { if (!tracked.started) controller.abort(cancel?.reason) }
    deadline.addEventListener('abort', onDeadline, { once: true })
    cancel?.addEventListener('abort', onCancel, { once: true })
    this.#tasks.set(id, tracked)
    try {
      const posted: PostedTask = task.kind === 'render' ? { ...task, id, ...renderTag } : { ...task, id }
      const { outcome, startedAt, renderMs, threadId } = await this.#piscina.run(posted, { signal: controller.signal })
      if (task.kind === 'render') {
        this.#recycler?.replied(threadId)
        this.#recordWait(startedAt - tracked.queuedAt)
        this.#observe({ queueWaitMs: Math.max(0, startedAt - tracked.queuedAt), renderMs })
      }
      return outcome
    } catch (error) {
      if (controller.signal.aborted) throw new PoolError('aborted', controller.signal.reason)
      if (this.#closed) throw new PoolError('closed', error)
      throw new PoolError('crashed', error)
    } finally {
      this.#tasks.delete(id)
      deadline.removeEventListener('abort', onDeadline)
      cancel?.removeEventListener('abort', onCancel)
      if (this.#tasks.size === 0) for (const resolve of this.#drained.splice(0)) resolve()
    }
  }

  /** Resolves once no task is running or queued; each is bounded by its deadline. Used before retiring a pool. */
  async drain (): Promise<void> {
    if (this.#tasks.size === 0) return
    await new Promise<void>((resolve) => this.#drained.push(resolve))
  }

  #recordWait (ms: number): void {
    ms = Math.max(0, ms)
    // The first render sets the estimate and each later one moves it a fifth of the way: one odd render does not
    // swing Retry-After, a lasting change shows within a few.
    this.#recentWaitMs = this.#recentWaitMs === null ? ms : this.#recentWaitMs + (ms - this.#recentWaitMs) / 5
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
      workerRestarts: this.#restarts,
      runTime: pick(runTime),
      waitTime: pick(waitTime)
    }
  }

  async destroy (): Promise<void> {
    this.#closed = true
    await this.#piscina.destroy()
    this.#recycler?.close()
  }
}

function finite (value: number): number {
  return Number.isFinite(value) ? value : 0
}
