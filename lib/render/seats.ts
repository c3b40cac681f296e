import type { WorkerSlot } from './slot'

/**
 * Which workers may take a task. At most `threads` workers work at once (hold a seat); with recycling one more
 * worker runs as the warm spare, and takes the seat of a worker rendering its last share. An idle worker takes a
 * task at once; while tasks wait, a seated busy worker takes one more behind the one it runs (see pool.ts).
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

  /** A busy seated worker that may take a task behind the one it runs: the one that has run its task longest. */
  pipelineSeat (slots: Iterable<WorkerSlot>): WorkerSlot | undefined {
    let best: WorkerSlot | undefined
    for (const slot of slots) {
      if (!slot.seated || slot.jobs.length !== 1) continue
      if (best === undefined || slot.jobs[0].task[0] < best.jobs[0].task[0]) best = slot
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
