import { RenderedWaiters } from '../../dist/cache/shared/bus.js'
import type { BusHandlers, RenderedWait, SharedBus } from '../../dist/cache/shared/bus.js'
import { FailureLog, SharedTierError, type SharedLogger } from '../../dist/cache/shared/failures.js'
import { keyHash, type PageRef } from '../../dist/cache/shared/names.js'
import type { Epoch, FailureCounts, InvalidationOp, LockRequest, LookupResult, SharedStore, StoreEvents } from '../../dist/cache/shared/store.js'

/**
 * A shared store and bus in memory, for testing the shared tier's protocol (lock, epoch, write-through, invalidation
 * replay, resync) in milliseconds and without Redis. It keeps the semantics of the Lua scripts (lib/cache/shared/
 * scripts.ts) that the tier relies on, each call one atomic step as a script is: lookup-or-lock with the lock's TTL,
 * store only if the epoch has not moved since the render began, release and store waking waiters, extend only by the
 * holder, invalidate deleting in every bundle version, bumping the epoch and notifying every subscribed instance.
 * Messages arrive on a later turn of the event loop, as from a subscriber connection. What it leaves out is Redis'
 * own business (the index and its pruning, script caching, the pause after failures in a row); the real-Redis tests
 * (shared-*.test.ts) cover those.
 *
 * Lives in test/, not lib/: an application testing its own code runs the plugin without `cache.shared` (or with a
 * real Redis); nothing outside these tests builds a SharedTier from parts.
 */

interface StoredPage {
  value: Buffer
  expiresAt: number
  hash: string
  version: string
  url: string
}

interface HeldLock {
  token: string
  expiresAt: number
}

/** What one deployment's Redis holds, and its subscribers: every instance's store and bus talk to one of these. */
export class MemoryCluster {
  readonly pages = new Map<string, StoredPage>()
  readonly locks = new Map<string, HeldLock>()
  epoch: Epoch = ''
  /** Store calls executed, by operation: to tell that a call was (or was not) made. */
  readonly calls = new Map<string, number>()
  readonly #buses = new Set<MemoryBus>()

  /** One instance's view of the cluster: its own store connection and bus. */
  connect (log: SharedLogger = { warn () {} }): { store: MemoryStore, bus: MemoryBus } {
    const bus = new MemoryBus()
    this.#buses.add(bus)
    return { store: new MemoryStore(this, log), bus }
  }

  /** The page under `name` unless expired (an expired page is gone, as in Redis). */
  page (name: string): StoredPage | undefined {
    const page = this.pages.get(name)
    if (page !== undefined && page.expiresAt <= Date.now()) this.pages.delete(name)
    return this.pages.get(name)
  }

  lock (name: string): HeldLock | undefined {
    const lock = this.locks.get(name)
    if (lock !== undefined && lock.expiresAt <= Date.now()) this.locks.delete(name)
    return this.locks.get(name)
  }

  counted (op: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1)
  }

  /** PUBLISH: reaches the buses subscribed now, if they still are when it arrives. */
  publish (deliver: (bus: MemoryBus) => void): void {
    for (const bus of this.#buses) {
      if (!bus.subscribed) continue
      setImmediate(() => { if (bus.subscribed) deliver(bus) })
    }
  }
}

/**
 * One instance's connection to the MemoryCluster. down() and up() take the connection away and bring it back
 * (calls fail as `unavailable` meanwhile, as with Redis unreachable); `failing` makes calls fail on a live
 * connection (as a Redis answering errors).
 */
export class MemoryStore implements SharedStore {
  readonly failureLog: FailureLog
  /** Set: every call fails with an error, the connection staying up. */
  failing = false
  readonly #cluster: MemoryCluster
  #events: StoreEvents | null = null
  #reachable = true
  #closed = false

  constructor (cluster: MemoryCluster, log: SharedLogger) {
    this.#cluster = cluster
    this.failureLog = new FailureLog(log, () => this.#events?.recovered())
  }

  get connected (): boolean {
    return this.#events !== null && this.#reachable && !this.#closed
  }

  get available (): boolean {
    return this.connected
  }

  get failures (): Readonly<FailureCounts> {
    return this.failureLog.counts
  }

  open (events: StoreEvents): void {
    if (this.#events !== null) return
    this.#events = events
    // Connecting takes a turn of the event loop, as a socket's would.
    setImmediate(() => { if (this.connected) events.ready() })
  }

  close (): void {
    this.#closed = true
  }

  /** The connection drops. */
  down (): void {
    const was = this.connected
    this.#reachable = false
    if (was) this.#events?.closed()
  }

  /** The connection is back. */
  up (): void {
    this.#reachable = true
    if (this.connected) this.#events?.ready()
  }

  async lookup (ref: PageRef, lock: LockRequest | null): Promise<LookupResult> {
    return await this.#call('lookup', (cluster) => {
      const page = cluster.page(ref.page)
      if (page !== undefined) {
        return { found: true, value: page.value, ttlMs: page.expiresAt === Infinity ? null : page.expiresAt - Date.now(), epoch: cluster.epoch }
      }
      if (lock === null) return { found: false, lock: 'none', epoch: cluster.epoch }
      if (cluster.lock(ref.lock) !== undefined) return { found: false, lock: 'held', epoch: cluster.epoch }
      cluster.locks.set(ref.lock, { token: lock.token, expiresAt: Date.now() + lock.ttlMs })
      return { found: false, lock: 'taken', epoch: cluster.epoch }
    })
  }

  async store (ref: PageRef, value: Buffer, ttlMs: number, epoch: Epoch, token: string | null): Promise<boolean> {
    return await this.#call('store', (cluster) => {
      const stored = cluster.epoch === epoch
      if (stored) {
        cluster.pages.set(ref.page, { value, expiresAt: ttlMs > 0 ? Date.now() + ttlMs : Infinity, hash: ref.hash, version: ref.version, url: ref.url })
      }
      if (token !== null && cluster.lock(ref.lock)?.token === token) cluster.locks.delete(ref.lock)
      cluster.publish((bus) => bus.rendered(ref.page))
      return stored
    })
  }

  async release (ref: PageRef, token: string): Promise<void> {
    await this.#call('release', (cluster) => {
      if (cluster.lock(ref.lock)?.token === token) cluster.locks.delete(ref.lock)
      cluster.publish((bus) => bus.rendered(ref.page))
    })
  }

  async extend (ref: PageRef, token: string, ttlMs: number): Promise<boolean> {
    return await this.#call('extend', (cluster) => {
      const lock = cluster.lock(ref.lock)
      if (lock?.token !== token) return false
      lock.expiresAt = Date.now() + ttlMs
      return true
    })
  }

  async invalidate (op: InvalidationOp, origin: string): Promise<Epoch> {
    return await this.#call('invalidate', (cluster) => {
      // Seeded from the clock on first use, as the script does, so epochs never repeat across restarts.
      cluster.epoch = String((cluster.epoch === '' ? Date.now() * 1000 : Number(cluster.epoch)) + 1)
      const hash = op.type === 'key' ? keyHash(op.rest) : null
      for (const [name, page] of cluster.pages) {
        const hit = op.type === 'clear' || (op.type === 'key' ? page.hash === hash : page.url.startsWith(op.prefix))
        if (hit) cluster.pages.delete(name)
      }
      const epoch = cluster.epoch
      cluster.publish((bus) => bus.invalidated(op, epoch, origin))
      return epoch
    })
  }

  async epoch (): Promise<Epoch> {
    return await this.#call('epoch', (cluster) => cluster.epoch)
  }

  /** One atomic step on the cluster, answered on a later tick; fails (and is counted) as RedisStore's calls do. */
  async #call<T> (op: string, run: (cluster: MemoryCluster) => T): Promise<T> {
    await Promise.resolve()
    if (!this.connected) throw this.#failed(new SharedTierError('unavailable', op, 'skipped: memory store is down'))
    if (this.failing) throw this.#failed(new SharedTierError('error', op, 'memory store set to fail'))
    this.#cluster.counted(op)
    const result = run(this.#cluster)
    this.failureLog.succeeded()
    return result
  }

  #failed (error: SharedTierError): SharedTierError {
    this.failureLog.failed(error)
    return error
  }
}

/** One instance's subscription. lose() and resubscribe() drop it and bring it back, as a subscriber reconnect. */
export class MemoryBus implements SharedBus {
  readonly #waiters = new RenderedWaiters()
  #handlers: BusHandlers | null = null
  #subscribed = false
  #closed = false

  get subscribed (): boolean {
    return this.#subscribed
  }

  open (handlers: BusHandlers): void {
    if (this.#handlers !== null || this.#closed) return
    this.#handlers = handlers
    this.resubscribe()
  }

  waitRendered (page: string): RenderedWait {
    return this.#waiters.add(page)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#subscribed = false
    this.#waiters.wakeAll()
  }

  /** The subscription is gone: messages published from now on are missed. */
  lose (): void {
    if (!this.#subscribed) return
    this.#subscribed = false
    this.#handlers?.lost()
  }

  /** Subscribes again, on a later turn (as after a reconnect). */
  resubscribe (): void {
    setImmediate(() => {
      if (this.#closed || this.#subscribed) return
      this.#subscribed = true
      this.#handlers?.subscribed()
    })
  }

  rendered (page: string): void {
    this.#waiters.wake(page)
  }

  invalidated (op: InvalidationOp, epoch: Epoch, origin: string): void {
    this.#handlers?.invalidation(op, epoch, origin)
  }
}
