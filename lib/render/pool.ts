import { performance } from 'node:perf_hooks'
import { beginWait } from '../tracing'
import { allowedCpus } from './pinning'
import { isWorkerReady, type RenderFailure, type RenderOutcome, type RenderTask, type TaskReply, type WorkerData } from './protocol'
import { WorkerSlot, type Job, type SlotHandlers } from './slot'

/**
 * The worker threads that render, and the only code that talks to them. It knows threads and tasks, not HTTP:
 * failures leave as PoolError, for the renderer to turn into coded errors.
 *
 * Why not piscina: a render must cost little more than the render itself, and piscina's general machinery (its own
 * task objects, queues, histograms, an extra message per task so the caller knows a task started) cost about twice
 * the floor of one postMessage round trip per task (see bench/RESULTS.md). Here the pool holds the queue and knows
 * which worker holds what: a task is one message each way, a worker says which task it started through shared
 * memory, recycling counts exactly, and a stuck worker is the one whose task passed its deadline.
 *
 * While renders wait, each busy worker is handed one more task behind the one it runs, so it goes from one render
 * to the next without sleeping in between; waking a sleeping thread is the dearest part of a hand-over. That task is
 * still the queue's: a cancel or a deadline before the worker starts it makes the worker skip it.
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
 * Where a task's cancel signal comes from, read only if the task has to wait (an AbortController, or call options
 * whose `signal` getter makes one on demand).
 */
export interface CancelSource {
  readonly signal?: AbortSignal
}

/** Pause before replacing a worker that died before it had loaded the bundle. */
const respawnPauseMs = 1000

function endWait (job: Job): void {
  job.wait?.done()
  job.wait = null
}

export class RenderPool {
  readonly #options: PoolOptions
  readonly #events: PoolEvents
  readonly #slots = new Set<WorkerSlot>()
  /** Ready workers holding no task, most recently used last (it is warmest). */
  readonly #idle: WorkerSlot[] = []
  /** Waiting jobs, oldest first, from #head on; settled ones (timed out, cancelled) are skipped. */
  #queue: Job[] = []
  #head = 0
  #queued = 0
  /** Workers with work that hold a seat: at most `threads`. With recycling the extra worker is the warm spare. */
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
  readonly #handlers: SlotHandlers = {
    message: (slot, message) => this.#message(slot, message),
    exit: (slot, code) => this.#lost(slot, code)
  }

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
   * The recent queue wait of renders in ms: from submission until a worker started them, or until their deadline
   * dropped them (they waited at least that long). 0 before any render.
   */
  get recentWaitMs (): number {
    return this.#recentWaitMs ?? 0
  }

  /**
   * Runs a render task by `deadline` (ms since the epoch, queue wait included). `cancel` drops the task while it
   * waits; once running it finishes (stopping it would cost a worker and a bundle load).
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
        cancelSource: cancel,
        cancel: undefined,
        onCancel: undefined,
        slot: null,
        queued: false,
        settled: false,
        wait: null
      }
      this.#inFlight++
      job.timer = setTimeout(() => this.#expire(job), Math.max(0, deadline - Date.now()))
      const slot = this.#idleSeat()
      if (slot !== undefined) this.#dispatch(slot, job)
      else this.#enqueue(job, false)
    })
  }

  /** Stops every task: waiting ones are dropped, running ones stopped with their workers (replaced). */
  abort (reason: unknown): void {
    for (const job of this.#waiting()) this.#fail(job, new PoolError('aborted', reason))
    for (const slot of [...this.#slots]) {
      if (slot.jobs.length === 0) continue
      for (const job of slot.jobs) this.#fail(job, new PoolError('aborted', reason))
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
    for (const slot of this.#slots) if (slot.jobs.length > 0) busy++
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
    const stopping: Array<Promise<void>> = []
    for (const slot of this.#slots) {
      for (const job of slot.jobs) this.#fail(job, new PoolError('closed', null))
      stopping.push(slot.stop())
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
    this.#slots.add(new WorkerSlot(this.#options.workerData, this.#options.maxHeapMb, this.#nextCpu(), this.#handlers))
  }

  #message (slot: WorkerSlot, message: unknown): void {
    if (Array.isArray(message)) {
      this.#answered(slot, message as TaskReply)
    } else if (isWorkerReady(message)) {
      if (message.pinned !== undefined) this.#events.pinned?.(slot.threadId, message.pinned)
      this.#ready(slot, message.failure)
    }
  }

  #ready (slot: WorkerSlot, failure: RenderFailure | null): void {
    slot.ready = true
    if (this.#onFirstReady !== null) {
      this.#onFirstReady(failure)
      this.#onFirstReady = null
      this.#onFirstFailure = null
    }
    slot.busy(false)
    this.#idle.push(slot)
    this.#pump()
  }

  /** An idle worker that may take a task now: none while every seat is busy (the spare waits for a retirement). */
  #idleSeat (): WorkerSlot | undefined {
    if (this.#busySeats >= this.#options.threads) return undefined
    return this.#idle.pop()
  }

  /** A busy seated worker that may take a task behind the one it runs: the one that has run its task longest. */
  #pipelineSeat (): WorkerSlot | undefined {
    let best: WorkerSlot | undefined
    for (const slot of this.#slots) {
      if (!slot.seated || slot.jobs.length !== 1) continue
      if (best === undefined || slot.jobs[0].task[0] < best.jobs[0].task[0]) best = slot
    }
    return best
  }

  #dispatch (slot: WorkerSlot, job: Job): boolean {
    try {
      slot.post(job.task)
    } catch (error) {
      // Data the structured clone cannot carry (a function, a class with private state): it never reached the
      // worker, which stays as it was.
      if (slot.jobs.length === 0) this.#idle.push(slot)
      this.#fail(job, new PoolError('unclonable', error))
      return false
    }
    job.slot = slot
    slot.jobs.push(job)
    // Its wait (traced) ends when it runs: now on an idle worker, else once the task ahead of it is answered.
    if (slot.jobs.length === 1) endWait(job)
    slot.renders++
    if (slot.jobs.length === 1) slot.busy(true)
    if (!slot.seated && !slot.retiring) {
      slot.seated = true
      this.#busySeats++
    }
    const limit = this.#options.maxRendersPerWorker
    if (limit !== null && slot.renders >= limit && !slot.retiring) {
      // Its last render: the seat goes to the spare now, while this one finishes.
      slot.retiring = true
      this.#unseat(slot)
    }
    return true
  }

  #unseat (slot: WorkerSlot): void {
    if (!slot.seated) return
    slot.seated = false
    this.#busySeats--
  }

  /** Hands waiting tasks to idle workers, then one each to busy ones, while both remain. */
  #pump (): void {
    while (this.#queued > 0) {
      const job = this.#nextQueued()
      if (job === undefined) break
      const slot = this.#idleSeat() ?? this.#pipelineSeat()
      if (slot === undefined) break
      this.#take(job)
      this.#dispatch(slot, job)
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  #enqueue (job: Job, first: boolean): void {
    job.slot = null
    // Only a waiting task reads its cancel signal: most are handed over at once and never make one or listen.
    const signal = job.cancel ?? job.cancelSource?.signal
    if (signal?.aborted === true) {
      this.#fail(job, new PoolError('aborted', signal.reason))
      return
    }
    if (first) this.#queue.splice(this.#head, 0, job)
    else this.#queue.push(job)
    job.queued = true
    this.#queued++
    job.wait ??= beginWait(() => ({ url: String(job.task[1]), queued: this.#queued - 1 }))
    if (signal !== undefined && job.onCancel === undefined) {
      job.cancel = signal
      job.onCancel = () => this.#cancel(job, new PoolError('aborted', signal.reason))
      signal.addEventListener('abort', job.onCancel, { once: true })
    }
    // A task handed out while others wait may still go behind a busy worker.
    if (!first) this.#pump()
  }

  /** Takes a job out of the queue to hand it to a worker; it keeps listening for a cancel until it starts. */
  #take (job: Job): void {
    this.#head++
    job.queued = false
    this.#queued--
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

  /** The jobs still waiting, oldest first, as a list (failing them changes the queue). */
  #waiting (): Job[] {
    return this.#queue.slice(this.#head).filter((job) => job.queued)
  }

  /** A cancel or deadline for a job that has not started: dropped, and skipped by its worker if it holds it. */
  #cancel (job: Job, error: PoolError): void {
    const slot = job.slot
    if (slot !== null) {
      slot.skip(job.task[0])
      // Started meanwhile: it runs to its end (a cancel), or its deadline stops it (see #expire).
      if (slot.started(job.task[0])) return
    }
    this.#fail(job, error)
  }

  #answered (slot: WorkerSlot, [id, outcome, renderMs]: TaskReply): void {
    const index = slot.jobs.findIndex((job) => job.task[0] === id)
    if (index === -1) return
    const [job] = slot.jobs.splice(index, 1)
    if (slot.jobs.length > 0) endWait(slot.jobs[0])
    if (!job.settled && !(outcome.ok === false && outcome.reason === 'skipped')) {
      this.#completed++
      this.#busyMs += renderMs
      // Behind another task, a job waits in its worker too: its wait is what it spent anywhere but rendering.
      const queueWaitMs = Math.max(0, performance.now() - job.submittedAt - renderMs)
      this.#recordWait(queueWaitMs)
      this.#events.timing?.({ queueWaitMs, renderMs })
      this.#settle(job)
      job.resolve(outcome)
    }
    if (slot.jobs.length > 0) return
    this.#unseat(slot)
    if (slot.retiring) {
      this.#replace(slot, 'recycled')
    } else {
      slot.busy(false)
      this.#idle.push(slot)
      this.#pump()
    }
  }

  #expire (job: Job): void {
    job.timer = undefined
    if (job.settled) return
    const slot = job.slot
    if (slot === null) {
      // Dropped from the queue: it waited until its deadline, and that wait counts too.
      this.#recordWait(performance.now() - job.submittedAt)
      this.#fail(job, new PoolError('timeout', null))
      return
    }
    // A reply already on its way settles the job, or the one ahead of it.
    slot.drain(this.#handlers)
    if (job.settled) return
    if (slot.jobs[0] !== job) {
      slot.skip(job.task[0])
      if (!slot.started(job.task[0])) {
        this.#fail(job, new PoolError('timeout', null))
        return
      }
      // It started after the drain: the reply ahead of it is queued now.
      slot.drain(this.#handlers)
    }
    this.#fail(job, new PoolError('timeout', null))
    this.#replace(slot, 'deadline')
  }

  /** A worker exited without being asked: the task it ran fails as a crash; those it never started wait again. */
  #lost (slot: WorkerSlot, code: number): void {
    slot.drain(this.#handlers)
    const error = slot.error ?? new Error(`the worker exited with code ${code}`)
    const running = slot.jobs.find((job) => !job.settled && slot.started(job.task[0]))
    if (running !== undefined) this.#fail(running, new PoolError('crashed', error))
    else if (slot.ready) this.#events.workerError(error)
    else if (this.#onFirstFailure !== null) this.#onFirstFailure(new PoolError('crashed', error))
    this.#replace(slot, 'crash')
  }

  /** Takes a worker out (stopping it unless it is gone already) and starts another; its unstarted tasks wait again. */
  #replace (slot: WorkerSlot, reason: ReplaceReason): void {
    if (!slot.gone) slot.stop().catch(() => {})
    if (!this.#slots.delete(slot)) return
    this.#unseat(slot)
    const idle = this.#idle.indexOf(slot)
    if (idle !== -1) this.#idle.splice(idle, 1)
    const waiting = slot.jobs.splice(0).filter((job) => !job.settled)
    if (this.#closed) {
      for (const job of waiting) this.#fail(job, new PoolError('closed', null))
      return
    }
    for (const job of waiting.reverse()) this.#enqueue(job, true)
    this.#restarts++
    this.#events.workerReplaced?.(reason, slot.threadId)
    if (slot.ready) {
      this.#spawn()
    } else {
      // It died loading a bundle that loaded before (an exit or a throw at load that does not happen every time):
      // try again after a pause rather than in a tight loop.
      setTimeout(() => { if (!this.#closed) this.#spawn() }, respawnPauseMs).unref()
    }
    // A seat it held is free: the warm spare, if any, may take a waiting task now.
    this.#pump()
  }

  #fail (job: Job, error: PoolError): void {
    if (job.settled) return
    job.wait?.failed(error)
    job.wait = null
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
    if (job.onCancel !== undefined) {
      job.cancel?.removeEventListener('abort', job.onCancel)
      job.onCancel = undefined
    }
    if (--this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve()
  }

  #recordWait (ms: number): void {
    ms = Math.max(0, ms)
    // The first render sets the estimate and each later one moves it a fifth of the way: one odd render does not
    // swing Retry-After, a lasting change shows within a few.
    this.#recentWaitMs = this.#recentWaitMs === null ? ms : this.#recentWaitMs + (ms - this.#recentWaitMs) / 5
  }
}
