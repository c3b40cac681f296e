import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { expandForHot, withBytes, type Bodies } from '../entry'
import { versionlessKey } from '../key'
import type { ResolvedSharedOptions } from './settings'
import type { PageHeaders } from '../../page'
import { lookupChannel, storeChannel, traced } from '../../tracing'
import type { SharedBus } from './bus'
import { decodePage, encodePage } from './codec'
import type { SharedLogger } from './failures'
import { Invalidations, type LocalTiers } from './invalidations'
import { awaitTurn, keepLock, lockToken, pollInterval } from './lock'
import { pageRef, type PageRef } from './names'
import type { Epoch, InvalidationOp, LookupResult, SharedStore } from './store'

export type { LocalTiers, SharedInvalidationEvent } from './invalidations'

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

export interface FetchCall {
  /** Aborted when no client waits any more. */
  signal: AbortSignal
  /** Longest wait for another instance's render before rendering here anyway. */
  waitMs: number
  /** True once an invalidation ran for this page during the flight: its render must not be written through. */
  discarded (): boolean
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

/** What of `cache.shared` the tier itself uses (the connection is its store's). */
export type SharedTierOptions = Pick<ResolvedSharedOptions, 'prefix' | 'ttl' | 'timeout' | 'lockTtl'>

/** The tier's parts: the store and bus on Redis in production (open.ts), in memory in the protocol tests. */
export interface SharedTierParts {
  store: SharedStore
  bus: SharedBus
  local: LocalTiers
  log: SharedLogger
}

/** How long start() waits for Redis before the plugin starts without it. */
const startupWaitMs = 2000

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
  readonly #options: SharedTierOptions
  readonly #store: SharedStore
  readonly #bus: SharedBus
  readonly #log: SharedLogger
  readonly #invalidations: Invalidations
  /** Write-throughs and invalidations under way; close() lets them finish (each call is bounded by the timeout). */
  readonly #pending = new Set<Promise<void>>()
  #started = false
  #connected = false
  #closed = false

  constructor (options: SharedTierOptions, parts: SharedTierParts) {
    super()
    this.#options = options
    this.#store = parts.store
    this.#bus = parts.bus
    this.#log = parts.log
    this.#invalidations = new Invalidations(parts.store, parts.local, randomUUID(), {
      later: (task) => this.#later(task),
      applied: (event) => {
        if (event.remote) this.counters.invalidationsReceived++
        this.emit('invalidation', event)
      },
      resynced: () => {
        this.counters.resyncs++
        this.#log.warn({ prefix: this.#options.prefix }, 'SSR shared tier: invalidations may have been missed while disconnected; local tiers cleared')
        this.emit('resync')
      },
      changed: () => this.#updateConnected()
    })
  }

  get connected (): boolean {
    return this.#connected
  }

  /** Connects, waiting a bounded time for Redis: at startup the plugin prefers to join the cluster, not to need it. */
  async start (): Promise<void> {
    if (this.#closed || this.#started) return
    this.#started = true
    const invalidations = this.#invalidations
    this.#store.open({
      ready: () => {
        invalidations.flushReplay()
        invalidations.sync().catch(() => {})
        this.#updateConnected()
      },
      closed: () => this.#updateConnected(),
      // Purges that could not reach the store go out as soon as it answers again.
      recovered: () => invalidations.flushReplay()
    })
    this.#bus.open({
      invalidation: (op, epoch, origin) => invalidations.received(op, epoch, origin),
      subscribed: () => invalidations.subscribed(),
      lost: () => invalidations.lost()
    })
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
    const ref = pageRef(this.#options.prefix, key, url)
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
    return { connected: this.#connected, ...this.counters, errors: { ...this.#store.failures } }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#invalidations.stop()
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
    await this.#bus.close()
    this.#store.close()
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
    if (!this.#closed) this.#invalidations.send(op)
  }

  #updateConnected (): void {
    const connected = !this.#closed && this.#store.connected && this.#bus.subscribed && this.#invalidations.settled
    if (connected === this.#connected) return
    this.#connected = connected
    this.emit(connected ? 'up' : 'down')
  }
}
