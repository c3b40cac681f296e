import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { allowedCpus } from './pinning'
import { isWorkerReady, type RenderFailure, type RenderOutcome, type RenderTask, type TaskReply, type WorkerData } from './protocol'

/**
 * The worker threads that render, and the only code that talks to them. It knows threads and tasks, not HTTP:
 * failures leave as PoolError, for the renderer to turn into coded errors.
 *
 * Why not piscina: a render must cost little more than the render itself, and piscina's general machinery (its own
 * task objects, queues, histograms, an extra message per task so the caller knows a task started) cost about twice
 * the floor of one postMessage round trip per task (see bench/RESULTS.md). Here the pool holds the queue, hands a
 * task to a worker only when that worker is idle, and so always knows which worker runs what: a task is one message
 * each way, "started" needs no message (handed over means running), recycling counts exactly, and a stuck worker is
 * the one whose task passed its deadline.
 */

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
}

/**
 * Why a task ended without an outcome. timeout: its deadline passed (queued: dropped; running: its worker was
 * stopped). aborted: `abort()` or the task's cancel signal (only while queued). crashed: its worker died.
 * closed: the pool was destroyed. unclonable: its data cannot be posted to a worker.
 */
export type PoolFailure = 'timeout' | 'aborted' | 'crashed' | 'closed' | 'unclonable'

export class PoolError extends Error {
  constructor (readonly kind: PoolFailure, cause: unknown) {
    super(`render task ${kind}`, { cause })
  }
}

/**
 * Where a task's cancel signal comes from, read only if the task has to wait for a thread (an AbortController, or
 * call options whose `signal` getter makes one on demand).
 */
export interface CancelSource {
  readonly signal?: AbortSignal
}

/** One worker thread and what it holds. */
interface Slot {
  readonly worker: Worker
  readonly threadId: number
  ready: boolean
  /** Set once the pool stopped it or heard it exit: its events are ignored from then on. */
  gone: boolean
  job: Job | null
  /** Renders handed to it. */
  renders: number
  /** It has been handed its last render (recycling): it holds no seat, and goes once that render is answered. */
  retiring: boolean
  /** The error it died with, reported by 'error' before 'exit'. */
  error: unknown
  /** The CPU it was asked to pin itself to (`pinThreads`), else null. */
  cpu: number | null
}

interface Job {
  readonly task: RenderTask
  readonly resolve: (outcome: RenderOutcome) => void
  readonly reject: (error: PoolError) => void
  readonly submittedAt: number
  timer: NodeJS.Timeout | undefined
  cancel: AbortSignal | undefined
  onCancel: (() => void) | undefined
  slot: Slot | null
  /** In the queue, waiting for a thread. */
  queued: boolean
  dispatchedAt: number
  settled: boolean
}

const workerFile = join(__dirname, 'worker.js')
/** Pause before replacing a worker that died before it had loaded the bundle. */
const respawnPauseMs = 1000

export class RenderPool {
  readonly #options: PoolOptions
  readonly #events: PoolEvents
  readonly #slots = new Set<Slot>()
  /** Ready workers holding no render, most recently used last (it is warmest). */
  readonly #idle: Slot[] = []
  /** Waiting jobs, oldest first, from #head on; settled ones (timed out, cancelled) are skipped. */
  #queue: Job[] = []
  #head = 0
  #queued = 0
  /** Busy workers that hold a seat: at most `threads`. With recycling the extra worker is the warm spare. */
  #busySeats = 0
  #inFlight = 0
  #lastId = 0
  #restarts = 0
  #completed = 0
  #busyMs = 0
  readonly #startedAt = performance.now()
  #recentWaitMs: number | null = null
  #closed = false
  readonly #drained: Array<() => void> = []
  readonly #firstReady: Promise<RenderFailure | null>
  #onFirstReady: ((failure: RenderFailure | null) => void) | null = null
  #onFirstFailure: ((error: unknown) => void) | null = null
  /** The CPUs workers pin themselves to, with `pinThreads`; null otherwise or where they cannot be read. */
  readonly #cpus: number[] | null

  constructor (options: PoolOptions, events: PoolEvents) {
    this.#options = options
    this.#events = events
    this.#cpus = options.pinThreads === true ? allowedCpus() : null
    this.#firstReady = new Promise((resolve, reject) => {
      this.#onFirstReady = resolve
      this.#onFirstFailure = reject
    })
    // Never an unhandled rejection: ready() is how it is read.
    this.#firstReady.catch(() => {})
    const count = options.threads + (options.maxRendersPerWorker === null ? 0 : 1)
    for (let i = 0; i < count; i++) this.#spawn()
  }

  /**
   * Resolves once the first worker has loaded the bundle: null when it can render, else the load failure. Rejects
   * with PoolError('timeout') past `timeoutMs`, or PoolError('crashed') when the worker died while loading.
   */
  async ready (timeoutMs: number): Promise<RenderFailure | null> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new PoolError('timeout', new Error(`no worker loaded the bundle within ${timeoutMs} ms`))), timeoutMs)
    })
    try {
      return await Promise.race([this.#firstReady, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Tasks handed to the pool and not settled: running, or waiting for a thread. */
  get inFlight (): number {
    return this.#inFlight
  }

  /**
   * The recent queue wait of renders in ms: from submission until a worker took them, or until their deadline
   * dropped them from the queue (they waited at least that long). 0 before any render.
   */
  get recentWaitMs (): number {
    return this.#recentWaitMs ?? 0
  }

  /**
   * Runs a render task by `deadline` (ms since the epoch, queue wait included). `cancel` drops the task while it
   * waits for a thread; once running it finishes (stopping it would cost a worker and a bundle load).
   */
  async run (task: RenderTask, deadline: number, cancel?: CancelSource): Promise<RenderOutcome> {
    if (this.#closed) throw new PoolError('closed', null)
    return await new Promise<RenderOutcome>((resolve, reject) => {
      task[0] = ++this.#lastId
      const job: Job = {
        task,
        resolve,
        reject,
        submittedAt: performance.now(),
        timer: undefined,
        cancel: undefined,
        onCancel: undefined,
        slot: null,
        queued: false,
        dispatchedAt: 0,
        settled: false
      }
      this.#inFlight++
      job.timer = setTimeout(() => this.#expire(job), Math.max(0, deadline - Date.now()))
      const slot = this.#takeIdle()
      if (slot !== undefined) {
        this.#dispatch(slot, job)
        return
      }
      // Only a queued task reads its cancel signal: most are handed over at once and never make one or listen.
      const signal = cancel?.signal
      if (signal?.aborted === true) {
        this.#fail(job, new PoolError('aborted', signal.reason))
        return
      }
      this.#queue.push(job)
      job.queued = true
      this.#queued++
      if (signal !== undefined) {
        job.cancel = signal
        job.onCancel = () => this.#fail(job, new PoolError('aborted', signal.reason))
        signal.addEventListener('abort', job.onCancel, { once: true })
      }
    })
  }

  /** Stops every task: queued ones are dropped, running ones stopped with their workers (replaced). */
  abort (reason: unknown): void {
    for (const job of this.#waiting()) this.#fail(job, new PoolError('aborted', reason))
    for (const slot of [...this.#slots]) {
      const job = slot.job
      if (job === null) continue
      this.#fail(job, new PoolError('aborted', reason))
      this.#replace(slot, 'stopped')
    }
  }

  /** Resolves once no task is running or queued; each is bounded by its deadline. Used before retiring a pool. */
  async drain (): Promise<void> {
    if (this.#inFlight === 0) return
    await new Promise<void>((resolve) => this.#drained.push(resolve))
  }

  stats (): PoolStats {
    let busy = 0
    for (const slot of this.#slots) if (slot.job !== null) busy++
    const elapsed = performance.now() - this.#startedAt
    return {
      threads: this.#slots.size,
      busyThreads: busy,
      queueSize: this.#queued,
      utilization: elapsed <= 0 ? 0 : Math.min(1, this.#busyMs / (elapsed * this.#options.threads)),
      completed: this.#completed,
      workerRestarts: this.#restarts
    }
  }

  /** Fails what is left with PoolError('closed') and stops every worker. */
  async destroy (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const job of this.#waiting()) this.#fail(job, new PoolError('closed', null))
    const stopping: Array<Promise<unknown>> = []
    for (const slot of this.#slots) {
      if (slot.job !== null) this.#fail(slot.job, new PoolError('closed', null))
      slot.gone = true
      stopping.push(slot.worker.terminate().catch(() => {}))
    }
    this.#slots.clear()
    this.#idle.length = 0
    this.#onFirstFailure?.(new PoolError('closed', null))
    await Promise.all(stopping)
  }

  /** The allowed CPU with the fewest workers pinned to it (the lowest first), or null without pinning. */
  #nextCpu (): number | null {
    if (this.#cpus === null) return null
    const load = new Map(this.#cpus.map((cpu) => [cpu, 0]))
    for (const slot of this.#slots) if (slot.cpu !== null) load.set(slot.cpu, (load.get(slot.cpu) ?? 0) + 1)
    let best = this.#cpus[0]
    for (const cpu of this.#cpus) if ((load.get(cpu) ?? 0) < (load.get(best) ?? 0)) best = cpu
    return best
  }

  #spawn (): void {
    const cpu = this.#nextCpu()
    const worker = new Worker(workerFile, {
      workerData: cpu === null ? this.#options.workerData : { ...this.#options.workerData, pinCpu: cpu },
      ...(this.#options.maxHeapMb === null ? {} : { resourceLimits: { maxOldGenerationSizeMb: this.#options.maxHeapMb } })
    })
    const slot: Slot = { worker, threadId: worker.threadId, ready: false, gone: false, job: null, renders: 0, retiring: false, error: undefined, cpu }
    this.#slots.add(slot)
    worker.on('message', (message: TaskReply | unknown) => {
      if (slot.gone) return
      if (Array.isArray(message)) this.#answered(slot, message as TaskReply)
      else if (isWorkerReady(message)) {
        if (message.pinned !== undefined) this.#events.pinned?.(slot.threadId, message.pinned)
        this.#ready(slot, message.failure)
      }
    })
    // 'error' comes before 'exit' when a worker dies of an uncaught exception or its heap limit.
    worker.on('error', (error) => { slot.error = error })
    worker.on('exit', (code) => { if (!slot.gone) this.#lost(slot, code) })
  }

  #ready (slot: Slot, failure: RenderFailure | null): void {
    slot.ready = true
    if (this.#onFirstReady !== null) {
      this.#onFirstReady(failure)
      this.#onFirstReady = null
      this.#onFirstFailure = null
    }
    slot.worker.unref()
    this.#idle.push(slot)
    this.#pump()
  }

  /** An idle worker that may take a task now: none while every seat is busy (the spare waits for a retirement). */
  #takeIdle (): Slot | undefined {
    if (this.#busySeats >= this.#options.threads) return undefined
    return this.#idle.pop()
  }

  #dispatch (slot: Slot, job: Job): void {
    try {
      slot.worker.postMessage(job.task)
    } catch (error) {
      // Data the structured clone cannot carry (a function, a class with private state): it never reached the
      // worker, which stays idle.
      this.#idle.push(slot)
      this.#fail(job, new PoolError('unclonable', error))
      return
    }
    this.#stopListening(job)
    job.slot = slot
    job.dispatchedAt = performance.now()
    this.#recordWait(job.dispatchedAt - job.submittedAt)
    slot.job = job
    slot.renders++
    const limit = this.#options.maxRendersPerWorker
    if (limit !== null && slot.renders >= limit) slot.retiring = true
    else this.#busySeats++
    // A worker holds the process open only while it renders, as a pending request would.
    slot.worker.ref()
  }

  /** Hands queued tasks to idle workers while both remain. */
  #pump (): void {
    while (this.#queued > 0) {
      const job = this.#nextQueued()
      if (job === undefined) return
      const slot = this.#takeIdle()
      if (slot === undefined) return
      this.#head++
      job.queued = false
      this.#queued--
      this.#dispatch(slot, job)
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  /** The jobs still waiting, oldest first, as a list (failing them changes the queue). */
  #waiting (): Job[] {
    return this.#queue.slice(this.#head).filter((job) => job.queued)
  }

  /** The oldest job still waiting (settled ones are dropped on the way). */
  #nextQueued (): Job | undefined {
    while (this.#head < this.#queue.length) {
      const job = this.#queue[this.#head]
      if (job.queued) return job
      this.#head++
    }
    this.#queue.length = 0
    this.#head = 0
    return undefined
  }

  #answered (slot: Slot, [id, outcome, renderMs]: TaskReply): void {
    const job = slot.job
    if (job === null || job.task[0] !== id) return
    slot.job = null
    if (!slot.retiring) this.#busySeats--
    this.#completed++
    this.#busyMs += performance.now() - job.dispatchedAt
    this.#events.timing?.({ queueWaitMs: job.dispatchedAt - job.submittedAt, renderMs })
    this.#settle(job)
    job.resolve(outcome)
    if (slot.retiring) {
      this.#replace(slot, 'recycled')
    } else {
      slot.worker.unref()
      this.#idle.push(slot)
    }
    this.#pump()
  }

  #expire (job: Job): void {
    job.timer = undefined
    if (job.settled) return
    const slot = job.slot
    // A task dropped from the queue waited until its deadline: that wait counts too.
    if (slot === null) this.#recordWait(performance.now() - job.submittedAt)
    this.#fail(job, new PoolError('timeout', null))
    if (slot !== null) this.#replace(slot, 'deadline')
  }

  /** A worker exited without being asked: its render, if any, fails as a crash; a new worker takes its place. */
  #lost (slot: Slot, code: number): void {
    const error = slot.error ?? new Error(`the worker exited with code ${code}`)
    const job = slot.job
    if (job !== null) this.#fail(job, new PoolError('crashed', error))
    else if (slot.ready) this.#events.workerError(error)
    else if (this.#onFirstFailure !== null) this.#onFirstFailure(new PoolError('crashed', error))
    this.#replace(slot, 'crash')
  }

  /** Takes a worker out (stopping it unless it is gone already) and starts another in its place. */
  #replace (slot: Slot, reason: ReplaceReason): void {
    if (!slot.gone) {
      slot.gone = true
      slot.worker.terminate().catch(() => {})
    }
    if (!this.#slots.delete(slot)) return
    if (slot.job !== null && !slot.retiring) this.#busySeats--
    slot.job = null
    const idle = this.#idle.indexOf(slot)
    if (idle !== -1) this.#idle.splice(idle, 1)
    if (this.#closed) return
    this.#restarts++
    this.#events.workerReplaced?.(reason, slot.threadId)
    if (slot.ready) {
      this.#spawn()
    } else {
      // It died loading a bundle that loaded before (an exit or a throw at load that does not happen every time):
      // try again after a pause rather than in a tight loop.
      setTimeout(() => { if (!this.#closed) this.#spawn() }, respawnPauseMs).unref()
    }
    // A seat it held is free: the warm spare, if any, may take a queued task now.
    this.#pump()
  }

  #fail (job: Job, error: PoolError): void {
    if (job.settled) return
    if (job.queued) {
      job.queued = false
      this.#queued--
    }
    this.#settle(job)
    job.reject(error)
  }

  #settle (job: Job): void {
    job.settled = true
    clearTimeout(job.timer)
    this.#stopListening(job)
    if (--this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve()
  }

  #stopListening (job: Job): void {
    if (job.onCancel === undefined) return
    job.cancel?.removeEventListener('abort', job.onCancel)
    job.onCancel = undefined
  }

  #recordWait (ms: number): void {
    ms = Math.max(0, ms)
    // The first render sets the estimate and each later one moves it a fifth of the way: one odd render does not
    // swing Retry-After, a lasting change shows within a few.
    this.#recentWaitMs = this.#recentWaitMs === null ? ms : this.#recentWaitMs + (ms - this.#recentWaitMs) / 5
  }
}
