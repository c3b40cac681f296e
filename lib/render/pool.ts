import { performance } from 'node:perf_hooks'
import { beginWait } from '../tracing'
import { FirstReady } from './first-ready'
import { FrozenValues } from './frozen-send'
import { ReplyPoller } from './handoff'
import { endWait, listenForCancel, newJob, settleJob } from './job'
import { JobQueue } from './job-queue'
import { allowedCpus, leastLoadedCpu } from './pinning'
import { PoolError, type CancelSource, type PoolEvents, type PoolOptions, type PoolStats, type ReplaceReason, type TaskRunner } from './pool-types'
import { isWorkerReady, type RenderFailure, type RenderOutcome, type RenderTask, type TaskReply } from './protocol'
import { PoolMeter } from './pool-meter'
import { Seats, tasksBehind } from './seats'
import { pollSlots, WorkerSlot, type Job, type SlotHandlers } from './slot'

/**
 * The worker threads that render, and the only code that talks to them; failures leave as PoolError, for the
 * renderer to turn into coded errors. Not piscina: its general machinery cost twice the floor of a postMessage round
 * trip per task (bench/RESULTS.md). A task is one message each way; a worker says which task it started through
 * shared memory (slot.ts); a stuck worker is the one whose task passed its deadline. While renders wait, a busy
 * worker holds a few ms of tasks behind the one it runs (seats.ts), so it goes on without sleeping: waking a thread
 * is the dearest part of a hand-over (and, for short renders, both sides poll a moment before sleeping: handoff.ts).
 * Those tasks are still the queue's: a cancel or deadline first makes the worker skip them, and a worker left idle
 * takes back the last task another holds and has not started.
 */

export * from './pool-types'

/** Pause (ms) before replacing a worker that died before it had loaded the bundle. */
const respawnPauseMs = 1000

export class RenderPool implements TaskRunner {
  readonly #options: PoolOptions
  readonly #events: PoolEvents
  readonly #slots = new Set<WorkerSlot>()
  readonly #seats: Seats
  readonly #queue = new JobQueue()
  #lastId = 0
  readonly #meter: PoolMeter
  #closed = false
  readonly #firstReady = new FirstReady()
  readonly #poller: ReplyPoller
  /** Deeply frozen data, sent to each worker once (frozen-send.ts). */
  readonly #frozen = new FrozenValues()
  /** The CPUs workers pin themselves to, with `pinThreads`; null otherwise or where they cannot be read. */
  readonly #cpus: number[] | null
  readonly #handlers: SlotHandlers = {
    message: (slot, message) => this.#message(slot, message),
    exit: (slot, code) => this.#lost(slot, code)
  }

  constructor (options: PoolOptions, events: PoolEvents) {
    this.#options = options
    this.#events = events
    this.#seats = new Seats(options.threads, options.maxRendersPerWorker)
    this.#meter = new PoolMeter(options.threads)
    this.#cpus = options.pinThreads === true ? allowedCpus() : null
    this.#poller = new ReplyPoller(options.workerData.spinUs ?? 0, () => pollSlots(this.#slots, this.#handlers), () => this.#meter.typicalRenderMs)
    const count = options.threads + (options.maxRendersPerWorker === null ? 0 : 1)
    for (let i = 0; i < count; i++) this.#spawn()
  }

  /**
   * Resolves once the first worker has loaded the bundle: null when it can render, else the load failure. Rejects
   * with PoolError('timeout') past `timeoutMs`, or PoolError('crashed') when the worker died while loading.
   */
  async ready (timeoutMs: number): Promise<RenderFailure | null> {
    return await this.#firstReady.ready(timeoutMs)
  }

  /** Its load as admission reads it: tasks in flight (running or waiting) and the recent queue wait (ms). */
  get load (): Readonly<Pick<PoolMeter, 'inFlight' | 'recentWaitMs'>> {
    return this.#meter
  }

  /**
   * Runs a render task by `deadline` (ms since the epoch, queue wait included). `cancel` drops the task while it
   * waits; once running it finishes (stopping it would cost a worker and a bundle load).
   */
  async run (task: RenderTask, deadline: number, cancel?: CancelSource): Promise<RenderOutcome> {
    if (this.#closed) throw new PoolError('closed', null)
    return await new Promise<RenderOutcome>((resolve, reject) => {
      task[0] = ++this.#lastId
      const job = newJob(task, resolve, reject, cancel)
      this.#meter.inFlight++
      job.timer = setTimeout(() => this.#expire(job), Math.max(0, deadline - Date.now()))
      const slot = this.#seats.idleSeat()
      if (slot !== undefined) this.#dispatch(slot, job)
      else this.#enqueue(job, false)
    })
  }

  /** Stops every task: waiting ones are dropped, running ones stopped with their workers (replaced). */
  abort (reason: unknown): void {
    for (const job of this.#queue.waiting()) this.#fail(job, new PoolError('aborted', reason))
    for (const slot of [...this.#slots]) {
      if (slot.jobs.length === 0) continue
      for (const job of slot.jobs) this.#fail(job, new PoolError('aborted', reason))
      this.#replace(slot, 'stopped')
    }
  }

  /** Resolves once no task is running or queued; each is bounded by its deadline. Used before retiring a pool. */
  async drain (): Promise<void> {
    await this.#meter.drained()
  }

  stats (): PoolStats {
    return this.#meter.stats(this.#slots, this.#queue.size)
  }

  /** Fails what is left with PoolError('closed') and stops every worker. */
  async destroy (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const job of this.#queue.waiting()) this.#fail(job, new PoolError('closed', null))
    const stopping: Array<Promise<void>> = []
    for (const slot of this.#slots) {
      for (const job of slot.jobs) this.#fail(job, new PoolError('closed', null))
      stopping.push(slot.stop())
    }
    this.#slots.clear()
    this.#seats.clear()
    this.#poller.stop()
    this.#firstReady.failed(new PoolError('closed', null))
    await Promise.all(stopping)
  }

  /** Starts a worker; with pinning, on the allowed CPU with the fewest workers pinned to it. */
  #spawn (): void {
    const cpu = this.#cpus === null ? null : leastLoadedCpu(this.#cpus, [...this.#slots].map((slot) => slot.cpu))
    this.#slots.add(new WorkerSlot(this.#options.workerData, this.#options.maxHeapMb, cpu, this.#frozen.sender(), this.#handlers))
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
    this.#firstReady.loaded(failure)
    slot.busy(false)
    this.#seats.idle(slot)
    this.#pump()
  }

  #dispatch (slot: WorkerSlot, job: Job): boolean {
    try {
      job.number = slot.post(job.task)
    } catch (error) {
      // Data the structured clone cannot carry (a function, a class with private state): it never reached the
      // worker, which stays as it was.
      if (slot.jobs.length === 0) this.#seats.idle(slot)
      this.#fail(job, new PoolError('unclonable', error))
      return false
    }
    job.slot = slot
    slot.jobs.push(job)
    // Its wait (traced) ends when it runs: now on an idle worker, else once the task ahead of it is answered.
    if (slot.jobs.length === 1) {
      slot.busy(true)
      this.#began(job)
    }
    this.#seats.took(slot)
    return true
  }

  /** A worker begins `job` now: its traced wait ends, and the main thread may wait for the reply awake. */
  #began (job: Job): void {
    endWait(job)
    this.#poller.started()
  }

  /** Hands waiting tasks to idle workers, then to busy ones, while both remain; then lets idle workers take back. */
  #pump (): void {
    const behind = tasksBehind(this.#meter.typicalRenderMs)
    while (this.#queue.size > 0) {
      const job = this.#queue.peek()
      if (job === undefined) break
      const slot = this.#seats.idleSeat() ?? this.#seats.pipelineSeat(this.#slots, behind)
      if (slot === undefined) break
      // It keeps listening for a cancel until its worker starts it.
      this.#queue.takeOldest()
      this.#dispatch(slot, job)
    }
    if (this.#queue.size === 0) this.#rebalance()
  }

  /**
   * Nothing waits in the queue: each idle worker takes the last task held by the busy worker holding most, if that
   * worker has not taken it up (it is told to skip it, and answers that without rendering).
   */
  #rebalance (): void {
    for (let victim = this.#seats.mostHeld(this.#slots); victim !== undefined; victim = this.#seats.mostHeld(this.#slots)) {
      const slot = this.#seats.idleSeat()
      if (slot === undefined) return
      const job = victim.jobs[victim.jobs.length - 1]
      // Failed at its deadline already, its worker's answer still to come: nothing to take back.
      if (job.settled) {
        this.#seats.idle(slot)
        return
      }
      victim.skip(job)
      if (victim.started(job)) {
        // Too late: it runs there (or, if the worker still saw the skip, comes back to the queue: see #answered).
        this.#seats.idle(slot)
        return
      }
      victim.jobs.pop()
      this.#dispatch(slot, job)
    }
  }

  #enqueue (job: Job, first: boolean): void {
    job.slot = null
    const cancelled = listenForCancel(job, (reason) => this.#cancel(job, new PoolError('aborted', reason)))
    if (cancelled !== null) {
      this.#fail(job, new PoolError('aborted', cancelled.reason))
      return
    }
    this.#queue.add(job, first)
    job.wait ??= beginWait(() => ({ url: String(job.task[1]), queued: this.#queue.size - 1 }))
    // A task handed out while others wait may still go behind a busy worker.
    if (!first) this.#pump()
  }

  /** A cancel or deadline for a job that has not started: dropped, and skipped by its worker if it holds it. */
  #cancel (job: Job, error: PoolError): void {
    const slot = job.slot
    if (slot !== null) {
      job.withdrawn = error
      slot.skip(job)
      // Started meanwhile: it runs to its end (a cancel), or its deadline stops it (see #expire).
      if (slot.started(job)) return
    }
    this.#fail(job, error)
  }

  #answered (slot: WorkerSlot, [id, outcome, renderMs]: TaskReply): void {
    const index = slot.jobs.findIndex((job) => job.task[0] === id)
    if (index === -1) {
      dropped(outcome)
      return
    }
    const [job] = slot.jobs.splice(index, 1)
    if (slot.jobs.length > 0) this.#began(slot.jobs[0])
    if (!job.settled && outcome.ok === false && outcome.reason === 'skipped') {
      // Withdrawn, though the pool saw the worker take it up first (a race the skip won on the worker's side): a
      // cancel ends it now; taken back for another worker, it waits again, first in line.
      if (job.withdrawn !== null) {
        this.#fail(job, job.withdrawn)
      } else {
        this.#enqueue(job, true)
        this.#pump()
      }
    } else if (!job.settled) {
      // Behind another task, a job waits in its worker too: its wait is what it spent anywhere but rendering.
      const queueWaitMs = Math.max(0, performance.now() - job.submittedAt - renderMs)
      this.#meter.rendered(renderMs, queueWaitMs)
      this.#events.timing?.({ queueWaitMs, renderMs })
      this.#settle(job)
      job.resolve(outcome)
    } else {
      // Settled already (its deadline, the pool closing): no one takes this page.
      dropped(outcome)
    }
    if (slot.jobs.length > 0) return
    this.#seats.unseat(slot)
    if (slot.retiring) {
      this.#replace(slot, 'recycled')
    } else {
      slot.busy(false)
      this.#seats.idle(slot)
      this.#pump()
    }
  }

  #expire (job: Job): void {
    job.timer = undefined
    if (job.settled) return
    const slot = job.slot
    if (slot === null) {
      // Dropped from the queue: it waited until its deadline, and that wait counts too.
      this.#meter.waited(performance.now() - job.submittedAt)
      this.#fail(job, new PoolError('timeout', null))
      return
    }
    const state = slot.atDeadline(job, this.#handlers)
    if (state === 'settled') return
    this.#fail(job, new PoolError('timeout', null))
    // Stuck in its render: the worker goes with it.
    if (state === 'running') this.#replace(slot, 'deadline')
  }

  /** A worker exited without being asked: the task it ran fails as a crash; those it never started wait again. */
  #lost (slot: WorkerSlot, code: number): void {
    slot.drain(this.#handlers)
    const error = slot.error ?? new Error(`the worker exited with code ${code}`)
    const running = slot.jobs.find((job) => !job.settled && slot.started(job))
    if (running !== undefined) this.#fail(running, new PoolError('crashed', error))
    else if (slot.ready) this.#events.workerError(error)
    else if (this.#firstReady.pending) this.#firstReady.failed(new PoolError('crashed', error))
    this.#replace(slot, 'crash')
  }

  /** Takes a worker out (stopping it unless it is gone already) and starts another; its unstarted tasks wait again. */
  #replace (slot: WorkerSlot, reason: ReplaceReason): void {
    if (!slot.gone) slot.stop().catch(() => {})
    if (!this.#slots.delete(slot)) return
    this.#seats.forget(slot)
    this.#frozen.drop(slot.frozen)
    const waiting = slot.jobs.splice(0).filter((job) => !job.settled)
    if (this.#closed) {
      for (const job of waiting) this.#fail(job, new PoolError('closed', null))
      return
    }
    for (const job of waiting.reverse()) this.#enqueue(job, true)
    this.#meter.restarts++
    this.#events.workerReplaced?.(reason, slot.threadId)
    if (slot.ready) {
      this.#spawn()
    } else {
      // It died loading a bundle that loaded before (a throw at load that does not happen every time): pause, no loop.
      setTimeout(() => { if (!this.#closed) this.#spawn() }, respawnPauseMs).unref()
    }
    // A seat it held is free: the warm spare, if any, may take a waiting task now.
    this.#pump()
  }

  #fail (job: Job, error: PoolError): void {
    if (job.settled) return
    job.wait?.failed(error)
    job.wait = null
    this.#queue.leave(job)
    this.#settle(job)
    job.reject(error)
  }

  #settle (job: Job): void {
    settleJob(job)
    this.#meter.settled()
  }
}

/** An outcome no one will take: a page it holds in a worker's ring is released. */
function dropped (outcome: RenderOutcome): void {
  if (outcome.ok) outcome.lease?.release()
}
