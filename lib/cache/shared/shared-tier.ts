import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { expandForHot, withBytes, type Bodies } from '../entry'
import { versionlessKey } from '../key'
import type { ResolvedSharedOptions } from '../../options'
import type { PageHeaders } from '../../page'
import { lookupChannel, storeChannel, traced } from '../../tracing'
import { ClusterBus } from './cluster'
import { decodePage, encodePage } from './codec'
import { openConnections, type SharedConnections } from './connection'
import { FailureLog, type SharedLogger } from './failures'
import { awaitTurn, keepLock, lockToken, pollInterval } from './lock'
import { deploymentNames, pageRef, type DeploymentNames, type PageRef } from './names'
import { RedisStore } from './redis-store'
import type { Epoch, InvalidationOp, LookupResult, SharedStore } from './store'

/** A page as the engine handles it, with its render time and how long it may be stored (null: not at all). */
export interface Page {
  status: number
  headers: PageHeaders
  bodies: Bodies & { identity: Buffer }
  etag: string
  renderedAt: number
  ttl: number | null
}

/** A page read from the shared tier; `ttlMs` is what Redis had left of its life (null: no expiry). */
export type SharedHit = Page & { fromShared: true, ttlMs: number | null }

/** What the engine lets the tier do to the local tiers when another instance invalidates. */
export interface LocalTiers {
  /** Drops the page of `rest` (a key without its version, see versionlessKey) in this bundle version. */
  dropKey (rest: string): void
  dropPrefix (prefix: string): void
  dropAll (): void
}

export interface FetchCall {
  /** Aborted when no client waits any more. */
  signal: AbortSignal
  /** Longest wait for another instance's render before rendering here anyway. */
  waitMs: number
  /** True once an invalidation ran for this page during the flight: its render must not be written through. */
  discarded (): boolean
}

/** An invalidation applied to this instance's local tiers, as `app.ssr.shared` reports it. */
export interface SharedInvalidationEvent {
  type: 'key' | 'prefix' | 'clear'
  prefix?: string
  /** False when this instance sent it (it applies its own once Redis has executed them, too). */
  remote: boolean
}

export interface SharedSnapshot {
  /** Both connections ready and subscribed. */
  connected: boolean
  /** Local misses answered from Redis. */
  hits: number
  /** Local misses Redis could not answer (rendered here). */
  misses: number
  /** Misses that waited for another instance's render. */
  lockWaits: number
  /** Rendered pages written to Redis. */
  writes: number
  /** Write-throughs refused because an invalidation ran during the render. */
  writesDiscarded: number
  /** Invalidations received from other instances. */
  invalidationsReceived: number
  /** Times the local tiers were cleared after a reconnect that may have missed invalidations. */
  resyncs: number
  /** Redis calls that timed out, failed, or were skipped because Redis was unreachable. */
  errors: { timeouts: number, errors: number, unavailable: number }
}

/** How long start() waits for Redis before the plugin starts without it. */
const startupWaitMs = 2000
/** Failed invalidations kept for replay; past this, one `clear` replaces them. */
const maxReplay = 64

/**
 * The shared tier behind the local hot and cold tiers, and the engine's only contact with Redis. A local miss looks
 * here (or takes the render lock, or waits for the instance holding it) before rendering; a render writes through
 * after the response is on its way; invalidations reach Redis and every instance. Redis is never needed for a
 * correct answer: every failure falls back to rendering here.
 *
 * Emits 'up' and 'down' (connected or not), 'invalidation' (SharedInvalidationEvent) and 'resync'.
 */
export class SharedTier extends EventEmitter {
  readonly counters = { hits: 0, misses: 0, lockWaits: 0, writes: 0, writesDiscarded: 0, invalidationsReceived: 0, resyncs: 0 }
  readonly #options: ResolvedSharedOptions
  readonly #names: DeploymentNames
  readonly #connections: SharedConnections
  readonly #failures: FailureLog
  readonly #store: SharedStore
  readonly #bus: ClusterBus
  readonly #local: LocalTiers
  readonly #log: SharedLogger
  /** Tells this instance's messages from the others'. */
  readonly #origin = randomUUID()
  /** Write-throughs and invalidations under way; close() lets them finish (each call is bounded by the timeout). */
  readonly #pending = new Set<Promise<void>>()
  #replay: InvalidationOp[] = []
  /** The newest epoch seen; null while unknown. */
  #lastEpoch: Epoch | null = null
  /** Set while the local tiers may hold pages purged by messages this instance missed. */
  #distrust = false
  /** Set from (re)subscribing until the epoch has been checked (which needs the command connection). */
  #syncPending = false
  #connected = false
  #closed = false

  constructor (options: ResolvedSharedOptions, local: LocalTiers, log: SharedLogger) {
    super()
    this.#options = options
    this.#local = local
    this.#log = log
    this.#names = deploymentNames(options.prefix)
    this.#connections = openConnections(options.redis)
    // Purges that could not reach Redis go out as soon as it answers again.
    this.#failures = new FailureLog(log, () => this.#flushReplay())
    this.#store = new RedisStore(this.#connections.command, this.#names, options.timeout, this.#failures)
    this.#bus = new ClusterBus(this.#connections.subscriber, this.#names, {
      invalidation: (op, epoch, origin) => this.#applyInvalidation(op, epoch, origin),
      subscribed: () => {
        this.#syncPending = true
        this.#sync().catch(() => {})
      },
      lost: () => {
        this.#distrust = true
        this.#updateConnected()
      }
    }, this.#failures)
    const { command, ownsCommand } = this.#connections
    command.on('ready', this.#onCommandReady)
    command.on('close', this.#onCommandClose)
    // The application's own client reports its errors to the application; only the plugin's are logged here.
    if (ownsCommand) command.on('error', this.#onCommandError)
  }

  get connected (): boolean {
    return this.#connected
  }

  /** Connects, waiting a bounded time for Redis: at startup the plugin prefers to join the cluster, not to need it. */
  async start (): Promise<void> {
    const { command } = this.#connections
    if (command.status === 'wait') command.connect().catch(() => {})
    this.#bus.connect()
    this.#updateConnected()
    if (this.#connected) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.off('up', done)
        resolve()
      }
      const timer = setTimeout(done, startupWaitMs)
      this.on('up', done)
    })
    if (!this.#connected) this.#log.warn({ prefix: this.#options.prefix }, 'SSR shared tier: Redis not reachable at startup; serving without it until it answers')
  }

  /**
   * The page for `key`: from Redis, from another instance's render (waiting for it under the render lock), or from
   * `render`, written through afterwards. Any Redis failure falls back to `render`.
   *
   * `cache.shared.timeout` is this request's budget for Redis calls, all of them together: a lookup gets what is
   * left, and with nothing left the page is rendered without asking again. So a Redis that stops answering (paused,
   * overloaded) costs a request at most one timeout, however many times it looked while waiting for another
   * instance's render. That wait itself is a render's, bounded by `waitMs`.
   */
  async fetch<P extends Page> (key: string, url: string, render: () => Promise<P>, call: FetchCall): Promise<P | SharedHit> {
    const ref = pageRef(this.#names.prefix, key, url)
    const lock = this.#options.lockTtl > 0 ? { token: lockToken(), ttlMs: this.#options.lockTtl } : null
    const giveUpAt = Date.now() + call.waitMs
    let budgetMs = this.#options.timeout
    let waited = false
    for (;;) {
      if (budgetMs < 1) {
        this.counters.misses++
        return await render()
      }
      // Registered before the lookup, so a notice sent between the lookup and the wait is not missed.
      const wake = lock === null ? null : this.#bus.waitRendered(ref.page)
      let found: LookupResult
      const calledAt = performance.now()
      try {
        found = await traced(lookupChannel, () => ({ tier: 'shared' as const, url }), async () => await this.#store.lookup(ref, lock, Math.ceil(budgetMs)))
      } catch {
        wake?.cancel()
        this.counters.misses++
        // Without an epoch to check against, a write-through could restore a page purged meanwhile: none is made.
        return await render()
      } finally {
        budgetMs -= performance.now() - calledAt
      }
      if (found.found) {
        wake?.cancel()
        const hit = this.#decode(found, key)
        if (hit !== null) {
          this.counters.hits++
          return hit
        }
        // Another layout (an older or newer plugin) or, in theory, another key with the same hash: render, overwrite.
        this.counters.misses++
        return await this.#renderThrough(ref, render, found.epoch, null, call)
      }
      if (found.lock !== 'held' || wake === null || Date.now() >= giveUpAt) {
        wake?.cancel()
        this.counters.misses++
        return await this.#renderThrough(ref, render, found.epoch, found.lock === 'taken' ? lock?.token ?? null : null, call)
      }
      if (!waited) this.counters.lockWaits++
      waited = true
      await awaitTurn(wake, pollInterval(this.#options.lockTtl), call.signal)
    }
  }

  /** Removes the page of `key` (every bundle version) from Redis and from every instance. */
  invalidateKey (key: string): void {
    this.#invalidate({ type: 'key', rest: versionlessKey(key).rest })
  }

  invalidatePrefix (prefix: string): void {
    this.#invalidate({ type: 'prefix', prefix })
  }

  clear (): void {
    this.#invalidate({ type: 'clear' })
  }

  snapshot (): SharedSnapshot {
    return { connected: this.#connected, ...this.counters, errors: { ...this.#failures.counts } }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
    await this.#bus.close()
    const { command, ownsCommand } = this.#connections
    command.off('ready', this.#onCommandReady)
    command.off('close', this.#onCommandClose)
    if (ownsCommand) command.disconnect()
  }

  async #renderThrough<P extends Page> (ref: PageRef, render: () => Promise<P>, epoch: Epoch, token: string | null, call: FetchCall): Promise<P> {
    const stop = token === null ? null : keepLock(this.#store, ref, token, this.#options.lockTtl)
    let page: P
    try {
      page = await render()
    } catch (error) {
      stop?.()
      if (token !== null) this.#later(async () => { await this.#store.release(ref, token) })
      throw error
    }
    stop?.()
    const ttl = call.discarded() ? null : page.ttl
    this.#later(async () => {
      if (ttl === null) {
        if (token !== null) await this.#store.release(ref, token)
        return
      }
      const value = encodePage({ key: ref.key, url: ref.url, status: page.status, headers: page.headers, bodies: page.bodies, etag: page.etag, renderedAt: page.renderedAt, ttl })
      // A 200 lives cache.shared.ttl in Redis; a status page of cache.statusTtl its own, shorter, TTL.
      const ttlMs = page.status === 200 ? this.#options.ttl * 1000 : ttl * 1000
      const stored = await traced(storeChannel, () => ({ tier: 'shared' as const, url: ref.url, key: ref.key, bytes: value.byteLength }),
        async () => await this.#store.store(ref, value, ttlMs, epoch, token))
      if (stored) this.counters.writes++
      else this.counters.writesDiscarded++
    })
    return page
  }

  #decode (found: LookupResult & { found: true }, key: string): SharedHit | null {
    const page = decodePage(found.value, key)
    if (page === null) return null
    // Redis keeps br and gzip; the identity bytes are rebuilt here, once (see codec.ts).
    const { bodies } = expandForHot(withBytes({ ...page, expiresAt: Infinity }))
    return { status: page.status, headers: page.headers, bodies: bodies as Page['bodies'], etag: page.etag, renderedAt: page.renderedAt, ttl: page.ttl, fromShared: true, ttlMs: found.ttlMs }
  }

  /** Runs Redis work after the current response is written (setImmediate), tracked for close(); failures are counted by the store. */
  #later (task: () => Promise<void>): void {
    const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(task)
      .catch(() => {})
      .finally(() => this.#pending.delete(done))
    this.#pending.add(done)
  }

  #invalidate (op: InvalidationOp): void {
    if (this.#closed) return
    this.#later(async () => {
      try {
        this.#noteEpoch(await this.#store.invalidate(op, this.#origin))
      } catch {
        this.#queueReplay(op)
        return
      }
      this.#flushReplay()
    })
  }

  /** Invalidations that could not reach Redis are sent again when it answers: a purge is never silently lost. */
  #queueReplay (op: InvalidationOp): void {
    if (this.#replay.some((queued) => queued.type === 'clear')) return
    this.#replay = op.type === 'clear' || this.#replay.length >= maxReplay ? [{ type: 'clear' }] : [...this.#replay, op]
  }

  #flushReplay (): void {
    const ops = this.#replay
    this.#replay = []
    for (const op of ops) this.#invalidate(op)
  }

  #applyInvalidation (op: InvalidationOp, epoch: Epoch, origin: string): void {
    this.#noteEpoch(epoch)
    if (op.type === 'key') this.#local.dropKey(op.rest)
    else if (op.type === 'prefix') this.#local.dropPrefix(op.prefix)
    else this.#local.dropAll()
    const remote = origin !== this.#origin
    if (remote) this.counters.invalidationsReceived++
    const event: SharedInvalidationEvent = op.type === 'prefix' ? { type: 'prefix', prefix: op.prefix, remote } : { type: op.type, remote }
    this.emit('invalidation', event)
  }

  #noteEpoch (epoch: Epoch): void {
    if (this.#lastEpoch === null || Number(epoch) > Number(this.#lastEpoch)) this.#lastEpoch = epoch
  }

  /**
   * After (re)subscribing: if invalidations may have been missed (the epoch moved while away, or cannot be read),
   * the local tiers are cleared rather than serve what another instance purged.
   */
  async #sync (): Promise<void> {
    // Without the command connection the epoch cannot be read yet; its 'ready' calls this again.
    if (!this.#syncPending || !this.#store.connected) return
    this.#syncPending = false
    let current: Epoch | null = null
    try {
      current = await this.#store.epoch()
    } catch {}
    if (this.#distrust && (current === null || current !== this.#lastEpoch)) {
      this.#local.dropAll()
      this.counters.resyncs++
      this.#log.warn({ prefix: this.#options.prefix }, 'SSR shared tier: invalidations may have been missed while disconnected; local tiers cleared')
      this.emit('resync')
    }
    this.#distrust = false
    this.#lastEpoch = current
    this.#updateConnected()
  }

  #updateConnected (): void {
    const connected = !this.#closed && this.#connections.command.status === 'ready' && this.#bus.subscribed && !this.#syncPending && !this.#distrust
    if (connected === this.#connected) return
    this.#connected = connected
    this.emit(connected ? 'up' : 'down')
  }

  readonly #onCommandReady = (): void => {
    this.#store.reconnected()
    this.#flushReplay()
    this.#sync().catch(() => {})
    this.#updateConnected()
  }

  readonly #onCommandClose = (): void => this.#updateConnected()

  readonly #onCommandError = (error: unknown): void => this.#failures.connectionError(error)
}
