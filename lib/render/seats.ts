import { pipelineDepth } from './protocol'
import type { WorkerSlot } from './slot'

/**
 * How much work, in ms of typical renders, a busy worker may hold behind the one it runs while tasks wait. A worker
 * that finds no task when it finishes one sleeps, and waking it costs the main thread tens of µs on a VM; the main
 * thread, sharing the CPUs with the workers and the load, may not get to post the next task for a scheduler slice
 * (ms). So a worker holds enough to cover that. With 2 workers on 2 CPUs, cache off, wrk with 100 connections, this
 * against one task behind, in three alternated pairs of runs: 1.22-1.26x the req/s at 0.87-0.90x the CPU per request
 * on the listing (0.15 ms renders), 1.23-1.36x at 0.77-0.84x on the product page; worker sleeps per request went from
 * 0.27 to 0.02. Holding up to 32 instead of 16 gained nothing more. The bound keeps what one slow render can hold up
 * small, and a worker left idle takes back tasks held by another (pool.ts).
 */
const heldBehindMs = 4

/** How many tasks a busy worker may hold behind the one it runs, from the typical render time (ms; null: unknown). */
export function tasksBehind (typicalRenderMs: number | null): number {
  if (typicalRenderMs === null) return 1
  return Math.max(1, Math.min(pipelineDepth - 1, Math.floor(heldBehindMs / Math.max(typicalRenderMs, 0.001))))
}

/**
 * Which workers may take a task. At most `threads` workers work at once (hold a seat); with recycling one more
 * worker runs as the warm spare, and takes the seat of a worker rendering its last share. An idle worker takes a
 * task at once; while tasks wait, a seated busy worker takes more behind the one it runs (tasksBehind, pool.ts).
 */
export class Seats {
  readonly #threads: number
  /** The most renders a worker does before it is replaced; null: no limit. */
  readonly #limit: number | null
  /** Ready workers holding no task, most recently used last (it is warmest). */
  readonly #idle: WorkerSlot[] = []
  #busy = 0

  constructor (threads: number, limit: number | null) {
    this.#threads = threads
    this.#limit = limit
  }

  /** A ready worker holds no task now. */
  idle (slot: WorkerSlot): void {
    this.#idle.push(slot)
  }

  /** An idle worker that may take a task now: none while every seat is busy (the spare waits for a retirement). */
  idleSeat (): WorkerSlot | undefined {
    if (this.#busy >= this.#threads) return undefined
    return this.#idle.pop()
  }

  /**
   * A busy seated worker that may take a task behind the one it runs, holding fewer than `behind` there: the one
   * holding the fewest, then the one that has run its task longest.
   */
  pipelineSeat (slots: Iterable<WorkerSlot>, behind: number): WorkerSlot | undefined {
    let best: WorkerSlot | undefined
    for (const slot of slots) {
      const held = slot.outstanding
      if (!slot.seated || slot.jobs.length === 0 || held > behind || held >= pipelineDepth) continue
      if (best === undefined || held < best.outstanding || (held === best.outstanding && slot.jobs[0].task[0] < best.jobs[0].task[0])) best = slot
    }
    return best
  }

  /** The worker holding the most tasks, if any holds one behind the task it runs: work an idle worker may take back. */
  mostHeld (slots: Iterable<WorkerSlot>): WorkerSlot | undefined {
    let best: WorkerSlot | undefined
    for (const slot of slots) {
      if (slot.jobs.length < 2) continue
      if (best === undefined || slot.jobs.length > best.jobs.length) best = slot
    }
    return best
  }

  /** A worker was handed a task: it holds a seat, unless the task is its last, whose seat goes to the spare now. */
  took (slot: WorkerSlot): void {
    slot.renders++
    if (!slot.seated && !slot.retiring) {
      slot.seated = true
      this.#busy++
    }
    if (this.#limit !== null && slot.renders >= this.#limit && !slot.retiring) {
      slot.retiring = true
      this.unseat(slot)
    }
  }

  /** A worker has no more work (or is retiring): its seat is free. */
  unseat (slot: WorkerSlot): void {
    if (!slot.seated) return
    slot.seated = false
    this.#busy--
  }

  /** A worker leaves the pool. */
  forget (slot: WorkerSlot): void {
    this.unseat(slot)
    const idle = this.#idle.indexOf(slot)
    if (idle !== -1) this.#idle.splice(idle, 1)
  }

  clear (): void {
    this.#idle.length = 0
  }
}
