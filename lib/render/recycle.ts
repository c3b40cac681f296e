import { randomUUID } from 'node:crypto'
import { threadId } from 'node:worker_threads'
import { queueOptionsSymbol, type Piscina } from 'piscina'

/**
 * Worker recycling (`maxRendersPerWorker`), both ends of it. Piscina has no per-worker task limit, and a worker that
 * exits on its own after its last reply races that reply: piscina may hand it a queued task before it hears of the
 * exit, or hear of the exit before the reply, and then fail the task either way. So the main thread decides:
 *
 * - The pool's load balancer counts the renders it gives each worker and gives nothing more to one that has had
 *   its share ("retired"). It is the only place tasks meet workers, so the count is exact.
 * - When a retired worker's last reply has arrived (piscina has then forgotten the task), the pool tells that
 *   worker, by thread id, to exit. It holds no task, so piscina fails nothing and starts a replacement. A task
 *   that never reached its worker (piscina could not post it: data that cannot be cloned) brings no reply, so the
 *   balancer also sends the order to any retired worker it sees idle.
 * - The pool keeps one thread more than `threads`, and the balancer lets only `threads` of them take work (the
 *   "seats"). The extra one is a warm spare, bundle loaded: when a worker retires, the spare takes its seat at once,
 *   so no request waits for a replacement to start, and the replacement becomes the next spare.
 */

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>
type PiscinaWorker = Parameters<Balancer>[1][number]

/** Marks a posted task as a render, for the balancer; structured cloning drops symbol keys, so the worker never sees it. */
export const renderTag = { [queueOptionsSymbol]: { render: true } } as const

function isRender (task: Parameters<Balancer>[0]): boolean {
  return (task[queueOptionsSymbol] as { render?: boolean } | null)?.render === true
}

/** Main thread: seats, render counts and retirement orders for one pool. */
export class Recycler {
  /** Posted with the workers' thread ids; each worker listens for its own. */
  readonly channelName = `ssr-retire:${randomUUID()}`
  readonly #channel = new BroadcastChannel(this.channelName)
  readonly #seats: number
  readonly #limit: number
  readonly #liveWorkerIds: () => Iterable<number>
  /** Workers that may take tasks, by thread id: at most `seats`. */
  readonly #seated = new Set<number>()
  readonly #assigned = new Map<number, number>()
  readonly #replied = new Map<number, number>()
  /** Workers told to exit. */
  readonly #ordered = new Set<number>()

  /**
   * `liveWorkerIds` lists the thread ids of the pool's workers. Piscina reports a worker's end with its thread id
   * already -1 (Node clears it on exit), so the records of workers that are gone are found by their absence.
   */
  constructor (seats: number, maxRendersPerWorker: number, liveWorkerIds: () => Iterable<number>) {
    this.#seats = seats
    this.#limit = maxRendersPerWorker
    this.#liveWorkerIds = liveWorkerIds
    // Posting only; it must not keep the process alive.
    this.#channel.unref()
  }

  /** Threads the pool should run: the seats and one warm spare. */
  get threads (): number {
    return this.#seats + 1
  }

  /** Piscina's `loadBalancer`: an idle seated worker, else an idle unseated one if a seat is free. */
  readonly balancer: Balancer = (task, workers) => {
    this.#forgetGone()
    let candidate: PiscinaWorker | null = null
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue
      if (this.#isRetired(worker.id)) {
        // Idle means piscina holds no task of it: the order loses nothing.
        this.#retire(worker.id)
        continue
      }
      if (this.#seated.has(worker.id)) {
        candidate = worker
        break
      }
      if (candidate === null && this.#seated.size < this.#seats) candidate = worker
    }
    if (candidate === null) return null
    this.#seated.add(candidate.id)
    if (isRender(task)) {
      const assigned = (this.#assigned.get(candidate.id) ?? 0) + 1
      this.#assigned.set(candidate.id, assigned)
      // Its last render: the seat goes to the spare now, while this one finishes.
      if (assigned >= this.#limit) this.#seated.delete(candidate.id)
    }
    return candidate
  }

  /** A render's reply arrived from `workerId`; after its last one, the worker is told to exit. */
  replied (workerId: number): void {
    const replied = (this.#replied.get(workerId) ?? 0) + 1
    this.#replied.set(workerId, replied)
    if (replied >= this.#limit) this.#retire(workerId)
  }

  #retire (workerId: number): void {
    if (this.#ordered.has(workerId)) return
    this.#ordered.add(workerId)
    this.#channel.postMessage({ retire: workerId })
  }

  /** Frees the seats of workers that are gone (retired, crashed, stopped at a deadline) and drops their counts. */
  #forgetGone (): void {
    const live = new Set(this.#liveWorkerIds())
    for (const id of this.#seated) if (!live.has(id)) this.#seated.delete(id)
    for (const id of this.#assigned.keys()) {
      if (!live.has(id)) {
        this.#assigned.delete(id)
        this.#replied.delete(id)
        this.#ordered.delete(id)
      }
    }
  }

  close (): void {
    this.#channel.close()
  }

  #isRetired (workerId: number): boolean {
    return (this.#assigned.get(workerId) ?? 0) >= this.#limit
  }
}

/** Worker thread: exits when the pool says this worker has rendered its share. */
export function listenForRetirement (channelName: string, exit: () => void): void {
  const channel = new BroadcastChannel(channelName)
  channel.unref()
  channel.onmessage = (event: MessageEvent) => {
    if ((event.data as { retire?: unknown }).retire === threadId) exit()
  }
}
