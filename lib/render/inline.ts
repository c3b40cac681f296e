import { performance } from 'node:perf_hooks'
import { copyData } from './data-copy'
import { Deadlines } from './deadlines'
import { failure, performTask } from './perform'
import { PoolMeter } from './pool-meter'
import { PoolError, type CancelSource, type PoolEvents, type PoolStats, type TaskRunner } from './pool-types'
import type { RenderFailure, RenderOutcome, RenderTask, WorkerData } from './protocol'
import { createSandbox, type Sandbox } from './sandbox'
import type { Maybe } from '../thenable'

/**
 * `threads: 0`: the bundle's sandbox in the main thread, each task rendered as soon as it is run, with no thread to
 * hand it to. For a server with one CPU, where a worker can only take turns with the main thread on that CPU and
 * every hand-over costs two thread switches and a copy of the data each way (bench/RESULTS.md measures both).
 *
 * What it gives up, by design, and the README says so: a render that never returns (a loop in the bundle) holds the
 * server, since there is no worker to stop; an asynchronous render past its deadline is answered with the timeout
 * error, but its work is not stopped; the bundle shares the server's heap (no `maxHeapMb`). The data is still copied
 * for each render, as a worker would receive it, except for its deeply frozen parts (data-copy.ts).
 */
export class InlinePool implements TaskRunner {
  readonly #sandbox: Sandbox | null = null
  readonly #loadFailure: RenderFailure | null = null
  readonly #compression: WorkerData['compression']
  readonly #events: PoolEvents
  // The main thread counts as the one thread, for utilization.
  readonly #meter = new PoolMeter(1)
  /** Renders started and not settled, with how to fail them (abort(), destroy()). */
  readonly #running = new Set<(error: PoolError) => void>()
  readonly #deadlines = new Deadlines()
  #closed = false

  /** `loadTimeoutMs`: how long the bundle may take to evaluate (`startTimeout`), since nothing could stop it after. */
  constructor (workerData: WorkerData, events: PoolEvents, loadTimeoutMs: number) {
    this.#compression = workerData.compression
    this.#events = events
    const { cachedData } = workerData
    try {
      this.#sandbox = createSandbox({
        source: workerData.source,
        filename: workerData.bundlePath,
        renderFunction: workerData.renderFunction,
        globals: workerData.globals,
        browserGlobals: workerData.browserGlobals,
        serverThread: true,
        loadTimeoutMs,
        cachedData: cachedData === null ? undefined : Buffer.from(cachedData.buffer, cachedData.byteOffset, cachedData.byteLength)
      })
    } catch (error) {
      this.#loadFailure = failure('load', error)
    }
  }

  /** The bundle was loaded in the constructor: null when it can render, else why not. */
  async ready (): Promise<RenderFailure | null> {
    return this.#loadFailure
  }

  get load (): Readonly<Pick<PoolMeter, 'inFlight' | 'recentWaitMs'>> {
    return this.#meter
  }

  /**
   * Renders now. A render that returns its page at once is answered at once: no promise, no deadline to watch (a
   * synchronous render returns before any timer could fire). `cancel` is never read: nothing waits for a thread
   * here. The refusals are rejected promises, as the worker pool's are.
   */
  run (task: RenderTask, deadline: number, _cancel?: CancelSource): Maybe<RenderOutcome> {
    if (this.#closed) return Promise.reject(new PoolError('closed', null))
    if (this.#sandbox === null) return this.#loadFailure as RenderFailure
    let data: unknown
    try {
      data = copyData(task[2])
    } catch (error) {
      return Promise.reject(new PoolError('unclonable', error))
    }
    this.#meter.inFlight++
    const started = performance.now()
    let answer: Maybe<RenderOutcome>
    try {
      answer = performTask(this.#sandbox, [task[0], task[1], data, deadline, task[4]], this.#compression)
    } catch (error) {
      this.#meter.settled()
      return Promise.reject(new PoolError('crashed', error))
    }
    if (!(answer instanceof Promise)) {
      this.#meter.settled()
      this.#rendered(started)
      return answer
    }
    const outcome = answer
    return new Promise<RenderOutcome>((resolve, reject) => {
      let settled = false
      const settle = (): boolean => {
        if (settled) return false
        settled = true
        this.#deadlines.remove(pending)
        this.#running.delete(fail)
        this.#meter.settled()
        return true
      }
      const fail = (error: PoolError): void => { if (settle()) reject(error) }
      // Only an asynchronous render can be overtaken by its deadline.
      const pending = this.#deadlines.add(deadline, () => fail(new PoolError('timeout', null)))
      this.#running.add(fail)
      outcome.then((value) => {
        if (!settle()) return
        this.#rendered(started)
        resolve(value)
      }, (error: unknown) => fail(new PoolError('crashed', error)))
    })
  }

  #rendered (started: number): void {
    const renderMs = performance.now() - started
    this.#meter.rendered(renderMs, 0)
    this.#events.timing?.({ queueWaitMs: 0, renderMs })
  }

  /** Fails every render in progress (their work goes on, and its results are dropped). */
  abort (reason: unknown): void {
    for (const fail of [...this.#running]) fail(new PoolError('aborted', reason))
  }

  async drain (): Promise<void> {
    await this.#meter.drained()
  }

  stats (): PoolStats {
    return this.#meter.stats(new Set(), 0)
  }

  async destroy (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const fail of [...this.#running]) fail(new PoolError('closed', null))
  }
}
