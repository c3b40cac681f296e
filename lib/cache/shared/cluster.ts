import type { Redis } from 'ioredis'
import type { FailureLog } from './failures'
import type { DeploymentNames } from './names'
import type { Epoch, InvalidationOp } from './store'

export interface BusHandlers {
  /** An invalidation published by any instance, this one included, once Redis has executed it. */
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

function parseOp (value: unknown): InvalidationOp | null {
  if (value === null || typeof value !== 'object') return null
  const op = value as Record<string, unknown>
  if (op.type === 'clear') return { type: 'clear' }
  if (op.type === 'prefix' && typeof op.prefix === 'string') return { type: 'prefix', prefix: op.prefix }
  if (op.type === 'key' && typeof op.rest === 'string') return { type: 'key', rest: op.rest }
  return null
}

/**
 * The cluster's message bus, on the subscriber connection: invalidations every instance applies to its local tiers,
 * and "rendered" notices that wake the instances waiting for a page another one holds the render lock of.
 */
export class ClusterBus {
  readonly #subscriber: Redis
  readonly #names: DeploymentNames
  readonly #handlers: BusHandlers
  readonly #failures: FailureLog
  readonly #waiting = new Map<string, Set<() => void>>()
  #subscribed = false
  #closed = false

  constructor (subscriber: Redis, names: DeploymentNames, handlers: BusHandlers, failures: FailureLog) {
    this.#subscriber = subscriber
    this.#names = names
    this.#handlers = handlers
    this.#failures = failures
    subscriber.on('ready', () => { this.#subscribe().catch(() => {}) })
    subscriber.on('close', () => this.#lose())
    subscriber.on('error', (error: unknown) => failures.connectionError(error))
    subscriber.on('message', (channel: string, message: string) => this.#receive(channel, message))
  }

  get subscribed (): boolean {
    return this.#subscribed
  }

  connect (): void {
    // A failed first attempt is retried by the client's retry strategy; its error arrives as an 'error' event.
    if (this.#subscriber.status === 'wait') this.#subscriber.connect().catch(() => {})
  }

  /** Registers for the "rendered" notice of `page`; register before looking the page up, so no notice is missed. */
  waitRendered (page: string): RenderedWait {
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

  async close (): Promise<void> {
    this.#closed = true
    for (const waiters of this.#waiting.values()) for (const wake of waiters) wake()
    this.#waiting.clear()
    this.#subscriber.disconnect()
  }

  async #subscribe (): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#names.invalidateChannel, this.#names.renderedChannel)
    } catch (error) {
      // The connection dropped while subscribing; the next 'ready' tries again.
      this.#failures.connectionError(error)
      return
    }
    if (this.#closed) return
    this.#subscribed = true
    this.#handlers.subscribed()
  }

  #lose (): void {
    if (!this.#subscribed || this.#closed) return
    this.#subscribed = false
    this.#handlers.lost()
  }

  #receive (channel: string, message: string): void {
    if (channel === this.#names.renderedChannel) {
      const waiters = this.#waiting.get(message)
      if (waiters === undefined) return
      this.#waiting.delete(message)
      for (const wake of waiters) wake()
      return
    }
    if (channel !== this.#names.invalidateChannel) return
    const newline = message.indexOf('\n')
    let body: { origin?: unknown, op?: unknown }
    try {
      body = JSON.parse(message.slice(newline + 1))
    } catch {
      return
    }
    const op = parseOp(body?.op)
    if (newline <= 0 || op === null) return
    this.#handlers.invalidation(op, message.slice(0, newline), typeof body.origin === 'string' ? body.origin : '')
  }
}
