import type { Epoch, InvalidationOp } from './store'

/**
 * What the shared tier needs from the cluster's message bus: invalidations every instance applies to its local
 * tiers, and "rendered" notices that wake an instance waiting for a page another one holds the render lock of. The
 * sending side is the store's (its invalidate, store and release calls publish); cluster.ts is the bus on Redis.
 */
export interface SharedBus {
  /** Whether messages are being received now. */
  readonly subscribed: boolean
  /** Starts receiving; `handlers` hear from now on, through every reconnect, until close(). */
  open (handlers: BusHandlers): void
  /** Registers for the "rendered" notice of `page`; register before looking the page up, so no notice is missed. */
  waitRendered (page: string): RenderedWait
  /** Wakes every waiter and stops receiving. */
  close (): Promise<void>
}

export interface BusHandlers {
  /** An invalidation published by any instance, this one included, once the store has executed it. */
  invalidation (op: InvalidationOp, epoch: Epoch, origin: string): void
  /** Subscribed, at start or after a reconnect: messages published while away were missed. */
  subscribed (): void
  /** The subscription is gone (connection closed); messages from now on are missed until `subscribed`. */
  lost (): void
}

/** Resolves when the page is rendered elsewhere (or its lock released), or when cancelled. */
export interface RenderedWait {
  promise: Promise<void>
  cancel (): void
}

/**
 * The waiters of "rendered" notices, by page name: the part of a bus that is the same whatever carries the notices.
 */
export class RenderedWaiters {
  readonly #waiting = new Map<string, Set<() => void>>()

  add (page: string): RenderedWait {
    let wake = (): void => {}
    const promise = new Promise<void>((resolve) => { wake = resolve })
    const waiters = this.#waiting.get(page) ?? new Set()
    waiters.add(wake)
    this.#waiting.set(page, waiters)
    const cancel = (): void => {
      waiters.delete(wake)
      if (waiters.size === 0 && this.#waiting.get(page) === waiters) this.#waiting.delete(page)
      wake()
    }
    return { promise, cancel }
  }

  /** The notice for `page` arrived: everyone waiting for it looks again. */
  wake (page: string): void {
    const waiters = this.#waiting.get(page)
    if (waiters === undefined) return
    this.#waiting.delete(page)
    for (const wake of waiters) wake()
  }

  wakeAll (): void {
    for (const waiters of this.#waiting.values()) for (const wake of waiters) wake()
    this.#waiting.clear()
  }
}
