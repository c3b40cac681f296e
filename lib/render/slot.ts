import { join } from 'node:path'
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads'
import type { Wait } from '../tracing'
import type { FrozenSender } from './frozen-send'
import type { CancelSource, PoolError } from './pool-types'
import { BodyRing, ringMemory } from './body-ring'
import { Control, nextCount, pipelineDepth, reached, skipEntry, type RenderOutcome, type RenderTask, type TaskReply, type WorkerData } from './protocol'

/**
 * One render worker as the pool sees it: the thread, the port its tasks and replies travel on, and shared integers
 * (Control, protocol.ts) through which the pool learns, without a message, which task the worker has started, tells
 * it which posted task to skip, and either side sees a message waiting while it polls. See pool.ts for how tasks are
 * handed out.
 */

const workerFile = join(__dirname, 'worker.js')

/**
 * The Node flags a worker starts with: the process's own, less preloads and module loaders (`--import`, `--require`,
 * `--loader`). A worker runs only the plugin's worker and the bundle; the application's loaders (a TypeScript hook,
 * an APM agent) have nothing to do there, and each would be loaded again in every worker: seconds of CPU per worker
 * under a test runner's hooks. Flags such as --cpu-prof or --enable-source-maps still apply. Undefined (inherit all)
 * when there is nothing to leave out.
 */
export function workerExecArgv (argv: readonly string[] = process.execArgv): string[] | undefined {
  const kept: string[] = []
  let dropped = false
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (!preloadFlags.has(flag.split('=')[0])) {
      kept.push(flag)
      continue
    }
    dropped = true
    // `--import x` (a separate value) drops the value too; `--import=x` is one item.
    if (!flag.includes('=')) i++
  }
  return dropped ? kept : undefined
}

const preloadFlags = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader'])

/**
 * Flags a worker accepts when they are given to it explicitly: Node refuses process-wide ones (--expose-gc, …) there,
 * though it lets a worker inherit them. Tried when the full list is refused.
 */
const workerSafeFlag = /^--(cpu-prof|heap-prof|enable-source-maps|trace-warnings|no-warnings|trace-uncaught|trace-exit)/

function startWorker (options: ConstructorParameters<typeof Worker>[1]): Worker {
  const execArgv = workerExecArgv()
  if (execArgv === undefined) return new Worker(workerFile, options)
  for (const candidate of [execArgv, execArgv.filter((flag) => workerSafeFlag.test(flag)), []]) {
    try {
      return new Worker(workerFile, { ...options, execArgv: candidate })
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error
    }
  }
  return new Worker(workerFile, { ...options, execArgv: [] })
}

/** A task the pool accepted, until it settles. */
/** One render task as the pool tracks it, from run() until it settles: where it is, how it ends, who waits. */
export interface Job {
  readonly task: RenderTask
  readonly resolve: (outcome: RenderOutcome) => void
  readonly reject: (error: Error) => void
  readonly submittedAt: number
  timer: NodeJS.Timeout | undefined
  /** Where a cancel comes from; read only if the job has to wait. */
  readonly cancelSource: CancelSource | undefined
  /** Stops listening for the cancel, while it listens (listenForCancel). */
  stopListening: (() => void) | undefined
  slot: WorkerSlot | null
  /** Its number in its slot's order of posts (see Control), while a slot holds it. */
  number: number
  /** Why the pool told its worker to skip it (a cancel), if it did. */
  withdrawn: PoolError | null
  /** In the pool's queue, waiting for a worker. */
  queued: boolean
  settled: boolean
  /** Its wait on the queue channel, while queued and traced (see tracing.ts). */
  wait: Wait | null
}

export interface SlotHandlers {
  message (slot: WorkerSlot, message: unknown): void
  /** The worker exited without being stopped by the pool. */
  exit (slot: WorkerSlot, code: number): void
}

export class WorkerSlot {
  readonly worker: Worker
  readonly threadId: number
  /** The CPU it was asked to pin itself to (`pinThreads`), else null. */
  readonly cpu: number | null
  readonly #port: MessagePort
  readonly #control: Int32Array
  /** Where the worker writes the pages sent once (body-ring.ts). */
  readonly #ring: BodyRing
  /** Replies taken from the port, by its 'message' event or by poll() and drain(). */
  #replies = 0
  /** Tasks posted: the number of the last one. */
  #posted = 0
  ready = false
  /** Set once the pool stopped it or heard it exit: its events are ignored from then on. */
  gone = false
  /** Posted and not answered, in order: the first runs, the others wait in the worker's port. */
  readonly jobs: Job[] = []
  /** It holds one of the `threads` seats (it has work and is not retiring). */
  seated = false
  /** Renders handed to it. */
  renders = 0
  /** It has been handed its last render (recycling): it holds no seat, and goes once its renders are answered. */
  retiring = false
  /** The error it died with, reported by 'error' before 'exit'. */
  error: unknown = undefined
  /** Which frozen data it holds, and how a task's message is made (frozen-send.ts). */
  readonly frozen: FrozenSender

  constructor (workerData: WorkerData, maxHeapMb: number | null, cpu: number | null, frozen: FrozenSender, handlers: SlotHandlers) {
    const { port1, port2 } = new MessageChannel()
    const control = new SharedArrayBuffer(Control.length * Int32Array.BYTES_PER_ELEMENT)
    // Each skip entry starts out holding a number that can never be stored there, so no task is skipped unasked.
    const entries = new Int32Array(control)
    for (let i = 0; i < pipelineDepth; i++) entries[Control.skip + i] = i + 1
    const ring = ringMemory()
    this.#ring = new BodyRing(ring)
    this.worker = startWorker({
      workerData: { ...workerData, pinCpu: cpu, port: port2, control, ring },
      transferList: [port2],
      ...(maxHeapMb === null ? {} : { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } })
    })
    this.threadId = this.worker.threadId
    this.cpu = cpu
    this.frozen = frozen
    this.#port = port1
    this.#control = new Int32Array(control)
    port1.on('message', (message: unknown) => this.#take(handlers, message))
    // 'error' comes before 'exit' when a worker dies of an uncaught exception or its heap limit.
    this.worker.on('error', (error) => { this.error = error })
    this.worker.on('exit', (code) => { if (!this.gone) handlers.exit(this, code) })
  }

  /**
   * Posts a task and says its number; throws (a DataCloneError) if it cannot be cloned, in which case nothing reached
   * the worker.
   */
  post (task: RenderTask): number {
    this.#port.postMessage(this.frozen.message(task))
    this.frozen.commit()
    this.#posted = nextCount(this.#posted)
    // After the message: a worker that sees the count move finds the task in its port.
    Atomics.add(this.#control, Control.posted, 1)
    return this.#posted
  }

  /** Tasks in the worker's hands: posted and not answered (withdrawn ones included, until their reply is taken). */
  get outstanding (): number {
    return (this.#posted - this.#replies) | 0
  }

  /** Handles the replies already on their way, if the worker's count says there are any; true if there were. */
  poll (handlers: Pick<SlotHandlers, 'message'>): boolean {
    if (Atomics.load(this.#control, Control.replied) === this.#replies) return false
    this.drain(handlers)
    return true
  }

  /** Whether the worker has taken up `job` (to run, skip or drop it); it may have finished it too. */
  started (job: Job): boolean {
    return reached(Atomics.load(this.#control, Control.started), job.number)
  }

  /** Tells the worker to answer `job` without rendering it, if it has not taken it up yet. */
  skip (job: Job): void {
    Atomics.store(this.#control, skipEntry(job.number), job.number)
  }

  /**
   * At `job`'s deadline: the replies already on their way are handled first (one may settle it, or a job ahead of
   * it); a job the worker has not taken up is told to skip. 'waiting': it never started and can fail alone;
   * 'running': it has to be stopped with the worker.
   */
  atDeadline (job: Job, handlers: Pick<SlotHandlers, 'message'>): 'settled' | 'waiting' | 'running' {
    this.drain(handlers)
    if (job.settled) return 'settled'
    if (!this.started(job)) {
      this.skip(job)
      if (!this.started(job)) return 'waiting'
      // Taken up after the drain: the replies ahead of it are queued now, and its own, if it is the skip's answer.
      this.drain(handlers)
      if (job.settled) return 'settled'
      if (!this.jobs.includes(job)) return 'waiting'
    }
    return 'running'
  }

  /** Handles, now, every reply already on its way: so none is lost when the worker is stopped next. */
  drain (handlers: Pick<SlotHandlers, 'message'>): void {
    for (let entry = receiveMessageOnPort(this.#port); entry !== undefined; entry = receiveMessageOnPort(this.#port)) {
      this.#take(handlers, entry.message)
    }
  }

  #take (handlers: Pick<SlotHandlers, 'message'>, message: unknown): void {
    // Replies are tuples (protocol.ts); the ready message is not counted by the worker either.
    if (!Array.isArray(message)) {
      if (!this.gone) handlers.message(this, message)
      return
    }
    this.#replies = nextCount(this.#replies)
    if (this.gone) return
    const outcome = (message as TaskReply)[1]
    if (outcome.ok && outcome.ring !== undefined) {
      // From here on the pool, and whoever it hands the page to, holds the ring's bytes until they are released.
      const { body, lease } = this.#ring.take(outcome.ring)
      outcome.body = body
      outcome.lease = lease
      outcome.ring = undefined
    }
    handlers.message(this, message)
  }

  /** Bodies in the ring the main thread still holds (see body-ring.ts). */
  get ringHeld (): number {
    return this.#ring.held
  }

  /** A worker holds the process open only while it renders, as a pending request would. */
  busy (busy: boolean): void {
    if (busy) {
      this.worker.ref()
      this.#port.ref()
    } else {
      this.worker.unref()
      this.#port.unref()
    }
  }

  /** Stops the worker (its events are ignored from now on). */
  async stop (): Promise<void> {
    this.gone = true
    this.#port.close()
    await this.worker.terminate().catch(() => {})
  }
}

/** Handles the replies that have arrived from any busy worker (see handoff.ts); whether a worker still renders. */
export function pollSlots (slots: Iterable<WorkerSlot>, handlers: Pick<SlotHandlers, 'message'>): boolean {
  let rendering = false
  for (const slot of slots) {
    if (slot.jobs.length === 0) continue
    slot.poll(handlers)
    rendering ||= slot.jobs.length > 0
  }
  return rendering
}
