import type { Redis } from 'ioredis'
import { RenderedWaiters, type BusHandlers, type RenderedWait, type SharedBus } from './bus'
import type { FailureLog } from './failures'
import type { DeploymentNames } from './names'
import type { InvalidationOp } from './store'

function parseOp (value: unknown): InvalidationOp | null {
  if (value === null || typeof value !== 'object') return null
  const op = value as Record<string, unknown>
  if (op.type === 'clear') return { type: 'clear' }
  if (op.type === 'prefix' && typeof op.prefix === 'string') return { type: 'prefix', prefix: op.prefix }
  if (op.type === 'key' && typeof op.rest === 'string') return { type: 'key', rest: op.rest }
  return null
}

/**
 * The cluster's message bus on Redis pub/sub, on the subscriber connection (see bus.ts for what it carries).
 */
export class ClusterBus implements SharedBus {
  readonly #subscriber: Redis
  readonly #names: DeploymentNames
  readonly #failures: FailureLog
  readonly #waiters = new RenderedWaiters()
  #handlers: BusHandlers | null = null
  #subscribed = false
  #closed = false

  constructor (subscriber: Redis, names: DeploymentNames, failures: FailureLog) {
    this.#subscriber = subscriber
    this.#names = names
    this.#failures = failures
  }

  get subscribed (): boolean {
    return this.#subscribed
  }

  open (handlers: BusHandlers): void {
    if (this.#handlers !== null || this.#closed) return
    this.#handlers = handlers
    const subscriber = this.#subscriber
    subscriber.on('ready', () => { this.#subscribe().catch(() => {}) })
    subscriber.on('close', () => this.#lose())
    subscriber.on('error', (error: unknown) => this.#failures.connectionError(error))
    subscriber.on('message', (channel: string, message: string) => this.#receive(channel, message))
    // A failed first attempt is retried by the client's retry strategy; its error arrives as an 'error' event.
    if (subscriber.status === 'wait') subscriber.connect().catch(() => {})
  }

  waitRendered (page: string): RenderedWait {
    return this.#waiters.add(page)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#waiters.wakeAll()
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
    this.#handlers?.subscribed()
  }

  #lose (): void {
    if (!this.#subscribed || this.#closed) return
    this.#subscribed = false
    this.#handlers?.lost()
  }

  #receive (channel: string, message: string): void {
    if (channel === this.#names.renderedChannel) {
      this.#waiters.wake(message)
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
    this.#handlers?.invalidation(op, message.slice(0, newline), typeof body.origin === 'string' ? body.origin : '')
  }
}
