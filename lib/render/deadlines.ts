/**
 * The deadlines of renders in progress in the main thread (`threads: 0`), with one timer for all of them rather than
 * one per render: a render there usually ends in microseconds, and a timer made and cleared per render cost more than
 * a small page's whole plugin path besides (measured: ~0.7 µs and a Timeout object per render, for a timer that
 * almost never fires).
 *
 * The timer is set for the earliest deadline it knows of and is not cleared when renders end: when it fires it
 * expires what is due and is set again for the earliest deadline left, if any. Deadlines mostly come in the order
 * their renders start (one renderTimeout), so it is set about once per timeout period. It holds the process only
 * while a render is pending, as a timer per render did: a render waiting on the bundle's own channel or timers,
 * which hold nothing in the main thread (polyfills.ts), still finishes in a process with nothing else to do.
 */
export class Deadlines {
  readonly #pending = new Set<Pending>()
  #timer: NodeJS.Timeout | null = null
  /** When the timer fires; Infinity when none is set. */
  #firesAt = Infinity

  /** Calls `expire` at `deadline` (ms since the epoch) unless the returned entry is removed first. */
  add (deadline: number, expire: () => void): Pending {
    const pending = { deadline, expire }
    this.#pending.add(pending)
    if (deadline < this.#firesAt) this.#arm(deadline)
    else if (this.#pending.size === 1) this.#timer?.ref()
    return pending
  }

  remove (pending: Pending): void {
    if (this.#pending.delete(pending) && this.#pending.size === 0) this.#timer?.unref()
  }

  #arm (at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#firesAt = at
    // Only ever set with a render pending (add, #fire), so it starts out holding the process.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()))
  }

  #fire (): void {
    this.#timer = null
    this.#firesAt = Infinity
    const now = Date.now()
    let next = Infinity
    for (const pending of this.#pending) {
      if (pending.deadline <= now) {
        this.#pending.delete(pending)
        pending.expire()
      } else if (pending.deadline < next) {
        next = pending.deadline
      }
    }
    if (next !== Infinity && next < this.#firesAt) this.#arm(next)
  }
}

interface Pending {
  readonly deadline: number
  readonly expire: () => void
}
