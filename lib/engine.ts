import { setMaxListeners } from 'node:events'
import { resolve } from 'node:path'
import { readBundle, startBundle, type LoadedBundle, type PoolEvents } from './bundle'
import {
  FST_SSR_CLOSING, FST_SSR_INVALID_DATA, FST_SSR_INVALID_RESULT, FST_SSR_RENDER_FAILED, FST_SSR_RENDER_TIMEOUT,
  FST_SSR_WORKER_CRASHED
} from './errors'
import type { ResolvedOptions } from './options'
import { servableOnError } from './cache/freshness'
import { customKey, isKeyOfVersion, normalizeUrl, pageKey, UnkeyableDataError, withVersion } from './cache/key'
import { isCacheable } from './cache/policy'
import { withBytes, type Bodies, type CacheEntry } from './cache/entry'
import { TieredCache, type Found } from './cache/tiers'
import { SharedTier, type SharedSnapshot } from './cache/shared/tier'
import { admit } from './http/backpressure'
import { LatencyHistogram, type LatencySummary } from './metrics'
import { BundleHost, type HostLogger } from './reload'
import { PoolError, type RenderPool } from './render/pool'
import type { PageHeaders, RenderFailure, RenderOutcome } from './render/protocol'

/** Where a response came from, as sent in `x-ssr-cache`. STALE: a page past its TTL, within a stale window. */
export type CacheState = 'HIT-HOT' | 'HIT-COLD' | 'HIT-SHARED' | 'STALE' | 'MISS' | 'BYPASS'

export interface ServedPage {
  status: number
  headers: PageHeaders
  /** Identity is always present here; br and gzip when the page was compressed. */
  bodies: Bodies & { identity: Buffer }
  /** Strong ETag of the identity body. */
  etag: string
  cache: CacheState
}

export interface RenderCallOptions {
  /** `false` renders without reading or writing the cache. */
  cache?: boolean
  /** A cache key of the route's own, used instead of the URL and data. */
  key?: string
  /** Milliseconds for this render, queue wait included; overrides the plugin's `renderTimeout`. */
  renderTimeout?: number
  /**
   * Aborted when the client went away: the caller stops waiting at once. The render itself is dropped only if no one
   * else waits for it and it has not started; a running one finishes (and is stored if cacheable).
   */
  signal?: AbortSignal
}

/** Where the engine logs what no request hears of (workers dying between renders, background work, reloads). */
export type EngineLogger = HostLogger

interface RenderedPage {
  status: number
  headers: PageHeaders
  bodies: Bodies & { identity: Buffer }
  etag: string
  /** Set when the page came from the shared tier, with what Redis had left of its life (ms; null: no expiry). */
  fromShared?: true
  ttlMs?: number | null
}

/** One render shared by every concurrent miss of a key. */
interface Flight {
  url: string
  promise: Promise<RenderedPage>
  waiters: number
  controller: AbortController
  /** Set when an invalidation, clear or reload ran during the render: its result must not be stored. */
  discard: boolean
  /** Started to refresh a stale page; it counts as one waiter of its own, so leaving clients never cancel it. */
  refresh: boolean
}

export interface CacheSnapshot {
  lookups: number
  hits: { hot: number, cold: number }
  misses: number
  /** Hits over lookups, 0 to 1. */
  hitRate: number
  /** Misses that waited for a render already in flight instead of starting one. */
  coalesced: number
  promotions: number
  insertions: number
  expired: number
  /** Responses served from a page past its TTL: within staleWhileRevalidate, or within staleIfError on a failure. */
  stale: { revalidate: number, error: number }
  /** Background renders started to refresh a stale page, and those that failed (error, timeout, 5xx, refused). */
  refreshes: number
  refreshFailures: number
  evictions: { hot: number, cold: number }
  entries: { hot: number, cold: number }
  bytes: { hot: number, cold: number }
  coldMaxBytes: number
  /** The shared Redis tier, when `cache.shared` is set. */
  shared: SharedSnapshot | null
}

/** The bundle serving: path, content hash, and when it was loaded (ISO 8601). */
export interface BundleInfo {
  path: string
  version: string
  loadedAt: string
}

export interface EngineSnapshot {
  cache: CacheSnapshot | null
  renders: {
    /** Renders started in the pool. */
    total: number
    succeeded: number
    /** Renders that threw, rejected or returned an invalid result. */
    errors: number
    timeouts: number
    /** Renders lost with their worker (exit, out of memory). */
    crashes: number
    /** Requests answered 503 (queue full or closing) without a render. */
    rejected: number
    /** Renders dropped from the queue because no client waited for them any more. */
    cancelled: number
    workerRestarts: number
    durationMs: LatencySummary
    queueWaitMs: LatencySummary
  }
  pool: { threads: number, busyThreads: number, utilization: number, queueSize: number, queueCapacity: number }
  bundle: BundleInfo & { reloads: { succeeded: number, failed: number } }
}

export interface RenderCounters {
  started: number
  succeeded: number
  failed: number
  timedOut: number
  crashed: number
  rejected: number
  /** Renders dropped from the queue because no client waited for them any more. */
  cancelled: number
  coalesced: number
  staleRevalidate: number
  staleOnError: number
  refreshes: number
  refreshFailures: number
}

/**
 * The render-or-serve decision, free of Fastify: look up the cache, join a render already in flight, admit or
 * shed, render in the pool under a deadline, store what may be shared. The main thread never renders here.
 */
export class SsrEngine {
  readonly options: ResolvedOptions
  readonly cache: TieredCache | null
  /** The shared Redis tier behind `cache`, when configured. */
  readonly shared: SharedTier | null
  readonly counters: RenderCounters = {
    started: 0,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    crashed: 0,
    rejected: 0,
    cancelled: 0,
    coalesced: 0,
    staleRevalidate: 0,
    staleOnError: 0,
    refreshes: 0,
    refreshFailures: 0
  }

  /** Time a worker spent rendering, and time a render waited for a worker. */
  readonly latency: { render: LatencyHistogram, queueWait: LatencyHistogram }
  readonly #host: BundleHost
  readonly #log: EngineLogger
  /** The cache's clock: TTLs and stale windows. Render deadlines always use real time (workers compare them). */
  readonly #now: () => number
  readonly #flights = new Map<string, Flight>()
  readonly #running = new Set<Promise<unknown>>()
  #closing = false
  #closeTimer: NodeJS.Timeout | undefined
  #closed: Promise<void> | undefined
  readonly #shutdown = new AbortController()

  private constructor (options: ResolvedOptions, first: LoadedBundle, events: PoolEvents, latency: SsrEngine['latency'], log: EngineLogger, now: () => number) {
    this.options = options
    this.latency = latency
    this.#log = log
    this.#now = now
    this.cache = options.cache === null ? null : new TieredCache(options.cache, now)
    // Other instances' invalidations reach the local tiers through the same paths as this instance's own.
    this.shared = options.cache?.shared == null
      ? null
      : new SharedTier(options.cache.shared, {
        dropKey: (rest) => this.#dropKey(withVersion(this.version, rest)),
        dropPrefix: (prefix) => this.#dropPrefix(prefix),
        dropAll: () => this.#dropAll()
      }, log)
    this.#host = new BundleHost(first, options, events, log, (previous, next) => this.#switched(previous, next))
    // Every render in flight listens for shutdown; there may be thousands.
    setMaxListeners(0, this.#shutdown.signal)
  }

  /**
   * Reads and checks the bundle, starts the workers and waits until one has loaded it. `now` is the cache's clock
   * (tests move it); it defaults to the wall clock.
   */
  static async start (options: ResolvedOptions, log: EngineLogger, now: () => number = Date.now): Promise<SsrEngine> {
    const latency = { render: new LatencyHistogram(), queueWait: new LatencyHistogram() }
    const events: PoolEvents = {
      onWorkerError: (error) => log.error({ err: error }, 'SSR worker died outside a render; it was replaced'),
      onBundleWarning: (warning, path) => log.warn({ path }, `SSR bundle: ${warning}`),
      onTiming: (timing) => {
        latency.render.record(timing.renderMs)
        latency.queueWait.record(timing.queueWaitMs)
      }
    }
    const first = await startBundle(await readBundle(options.bundle), options, events)
    const engine = new SsrEngine(options, first, events, latency, log, now)
    await engine.shared?.start()
    return engine
  }

  /** Content hash of the bundle serving now; part of every cache key. */
  get version (): string {
    return this.#host.current.version
  }

  get loadedAt (): Date {
    return this.#host.current.loadedAt
  }

  /** Path of the bundle serving now (a reload may have given another). */
  get bundlePath (): string {
    return this.#host.current.path
  }

  get #pool (): RenderPool {
    return this.#host.current.pool
  }

  /** The page for `url` and `data`: from the cache, from a render in flight, or rendered now. */
  async serve (url: string, data: unknown, call: RenderCallOptions = {}): Promise<ServedPage> {
    const cacheOptions = this.options.cache
    const renderUrl = normalizeUrl(url, cacheOptions?.query ?? null)
    const timeout = call.renderTimeout ?? this.options.renderTimeout
    const key = this.cache !== null && call.cache !== false ? this.#keyFor(renderUrl, data, call.key) : null
    if (key === null || this.cache === null) {
      // Uncached pages are sent as rendered; an application's @fastify/compress compresses them if it wants.
      return { ...await this.#track(this.#render(renderUrl, data, timeout, call.signal, false)), cache: 'BYPASS' }
    }
    const found = this.cache.get(key)
    if (found?.freshness === 'fresh') return served(found.entry, found.tier === 'hot' ? 'HIT-HOT' : 'HIT-COLD')
    if (found?.freshness === 'stale') {
      // Answered at once, whatever the pool's state (a full queue included); one render refreshes it meanwhile.
      this.counters.staleRevalidate++
      if (!this.#flights.has(key) && !this.#closing) this.#startFlight(key, renderUrl, data, timeout, true)
      return served(found.entry, 'STALE')
    }

    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = this.#startFlight(key, renderUrl, data, timeout, false)
    } else {
      this.counters.coalesced++
    }
    // A page in reserve (past its TTL, within staleIfError) stands in if this render fails.
    const reserve = found?.freshness === 'reserve' ? found : undefined
    let page: RenderedPage
    try {
      page = await this.#join(flight, call.signal)
    } catch (error) {
      const stale = this.#standIn(reserve, flight, call.signal)
      if (stale !== undefined) return stale
      throw error
    }
    if (page.status >= 500) return this.#standIn(reserve, flight, call.signal) ?? { ...page, cache: 'MISS' }
    const { status, headers, bodies, etag } = page
    return { status, headers, bodies, etag, cache: page.fromShared === true ? 'HIT-SHARED' : 'MISS' }
  }

  /**
   * Replaces the bundle without a restart (see reload.ts): pages of the old bundle are dropped once the new one
   * serves; resolves when the old workers have finished their renders and stopped. Rejects with FST_SSR_BUNDLE_LOAD,
   * the old bundle still serving, or FST_SSR_CLOSING.
   */
  async reload (path?: string): Promise<BundleInfo> {
    if (this.#closing) throw new FST_SSR_CLOSING()
    // Null only for a reload asked with onlyIfChanged (the watcher's).
    const loaded = await this.#host.reload(path === undefined ? undefined : resolve(path)) as LoadedBundle
    return { path: loaded.path, version: loaded.version, loadedAt: loaded.loadedAt.toISOString() }
  }

  /** These four act on this instance's tiers at once, and, with a shared tier, on Redis and every instance. */
  invalidate (url: string, data?: unknown): boolean {
    const key = pageKey(this.version, normalizeUrl(url, this.options.cache?.query ?? null), data)
    this.shared?.invalidateKey(key)
    return this.#dropKey(key)
  }

  /** Removes the page stored under a key a route supplied with `{ key }`. */
  invalidateKey (key: string): boolean {
    const full = customKey(this.version, key)
    this.shared?.invalidateKey(full)
    return this.#dropKey(full)
  }

  invalidatePrefix (prefix: string): number {
    this.shared?.invalidatePrefix(prefix)
    return this.#dropPrefix(prefix)
  }

  clear (): number {
    this.shared?.clear()
    return this.#dropAll()
  }

  #dropKey (key: string): boolean {
    const flight = this.#flights.get(key)
    if (flight !== undefined) flight.discard = true
    return this.cache?.delete(key) ?? false
  }

  #dropPrefix (prefix: string): number {
    for (const flight of this.#flights.values()) if (flight.url.startsWith(prefix)) flight.discard = true
    return this.cache?.deletePrefix(prefix) ?? 0
  }

  #dropAll (): number {
    for (const flight of this.#flights.values()) flight.discard = true
    return this.cache?.clear() ?? 0
  }

  get closing (): boolean {
    return this.#closing
  }

  /** The current pool's figures (threads, queue), with the restarts of every pool this engine ran. */
  poolStats () {
    return { ...this.#pool.stats(), workerRestarts: this.#host.workerRestarts }
  }

  /** Counters, latencies and sizes as they are now; `fastify.ssr.metrics()` and the metrics route show this. */
  snapshot (): EngineSnapshot {
    const pool = this.poolStats()
    const cache = this.cache
    let cacheSnapshot: CacheSnapshot | null = null
    if (cache !== null) {
      const { counters } = cache
      const tiers = cache.stats()
      const hits = counters.hits.hot + counters.hits.cold
      cacheSnapshot = {
        lookups: counters.lookups,
        hits: { ...counters.hits },
        misses: counters.misses,
        hitRate: counters.lookups === 0 ? 0 : hits / counters.lookups,
        coalesced: this.counters.coalesced,
        promotions: counters.promotions,
        insertions: counters.insertions,
        expired: counters.expired,
        stale: { revalidate: this.counters.staleRevalidate, error: this.counters.staleOnError },
        refreshes: this.counters.refreshes,
        refreshFailures: this.counters.refreshFailures,
        evictions: { ...counters.evictions },
        entries: { hot: tiers.hot.entries, cold: tiers.cold.entries },
        bytes: { hot: tiers.hot.bytes, cold: tiers.cold.bytes },
        coldMaxBytes: tiers.cold.maxBytes,
        shared: this.shared?.snapshot() ?? null
      }
    }
    return {
      cache: cacheSnapshot,
      renders: {
        total: this.counters.started,
        succeeded: this.counters.succeeded,
        errors: this.counters.failed,
        timeouts: this.counters.timedOut,
        crashes: this.counters.crashed,
        rejected: this.counters.rejected,
        cancelled: this.counters.cancelled,
        workerRestarts: pool.workerRestarts,
        durationMs: this.latency.render.summary(),
        queueWaitMs: this.latency.queueWait.summary()
      },
      pool: {
        threads: pool.threads,
        busyThreads: pool.busyThreads,
        utilization: pool.utilization,
        queueSize: pool.queueSize,
        queueCapacity: this.options.maxQueue
      },
      bundle: {
        path: this.bundlePath,
        version: this.version,
        loadedAt: this.loadedAt.toISOString(),
        reloads: { ...this.#host.reloads }
      }
    }
  }

  /**
   * Stops admitting renders; those in flight may finish for up to `closeTimeout`, after which they are stopped
   * and answered 503. Called when the server starts closing, before it waits for its open requests.
   */
  beginClose (): void {
    if (this.#closing) return
    this.#closing = true
    this.#host.beginClose()
    this.#closeTimer = setTimeout(() => this.#shutdown.abort(new FST_SSR_CLOSING()), this.options.closeTimeout)
  }

  /** Waits for the renders still running (bounded by `closeTimeout`), then stops the workers. Idempotent. */
  async close (): Promise<void> {
    this.#closed ??= this.#shutDown()
    await this.#closed
  }

  async #shutDown (): Promise<void> {
    this.beginClose()
    await Promise.allSettled([...this.#running])
    clearTimeout(this.#closeTimer)
    await this.#host.close()
    await this.shared?.close()
  }

  /**
   * A reload switched bundles. Renders of the old one still in flight are not stored, and its pages are dropped:
   * their keys carry its version, so they could never be served again, only take room.
   */
  #switched (previous: LoadedBundle, next: LoadedBundle): void {
    if (previous.version === next.version) return
    for (const flight of this.#flights.values()) flight.discard = true
    this.cache?.deleteWhere((entry) => !isKeyOfVersion(entry.key, next.version))
  }

  #keyFor (renderUrl: string, data: unknown, routeKey: string | undefined): string | null {
    if (routeKey !== undefined) return customKey(this.version, routeKey)
    try {
      return pageKey(this.version, renderUrl, data)
    } catch (error) {
      // Data without a canonical form (a cycle) can still be rendered, just never shared.
      if (error instanceof UnkeyableDataError) return null
      throw error
    }
  }

  #startFlight (key: string, url: string, data: unknown, timeout: number, refresh: boolean): Flight {
    const controller = new AbortController()
    const flight: Flight = { url, waiters: refresh ? 1 : 0, controller, discard: false, refresh, promise: undefined as unknown as Promise<RenderedPage> }
    if (refresh) this.counters.refreshes++
    const compress = this.options.compression !== null
    const render = async (): Promise<RenderedPage> => await this.#track(this.#render(url, data, timeout, controller.signal, compress))
    // With a shared tier, a miss (or a refresh) asks Redis, or waits for another instance's render, before rendering.
    const fetched = this.shared === null
      ? render()
      : this.shared.fetch(key, url, render, { signal: controller.signal, waitMs: timeout, discarded: () => flight.discard })
    flight.promise = fetched.then((page) => {
      this.#store(key, flight, page)
      return page
    }, (error: unknown) => {
      if (refresh) this.#refreshFailed(url, { err: (error as { cause?: unknown }).cause ?? error, code: (error as { code?: string }).code })
      throw error
    }).finally(() => {
      this.#flights.delete(key)
    })
    // Waiters may all leave before it settles; the rejection is theirs to see, not an unhandled one.
    flight.promise.catch(() => {})
    this.#flights.set(key, flight)
    return flight
  }

  /**
   * Keeps what a render produced. A shareable page replaces the entry. Any other answer but a 5xx (a 404, a private
   * page) removes it, so that a stale copy is not served instead of what the application now says; a 5xx leaves it
   * in place, as a failure staleIfError may cover.
   */
  #store (key: string, flight: Flight, page: RenderedPage): void {
    if (page.status >= 500 && flight.refresh) this.#refreshFailed(flight.url, { status: page.status })
    if (flight.discard || this.cache === null) return
    if (isCacheable(page.status, page.headers)) {
      const ttl = this.options.cache?.ttl ?? 0
      const { status, headers, bodies, etag } = page
      // A page from Redis lives here no longer than it had left there.
      const remainingMs = page.ttlMs ?? Infinity
      const expiresAt = this.#now() + Math.min(remainingMs, ttl === 0 ? Infinity : ttl * 1000)
      this.cache.set(withBytes({ key, url: flight.url, status, headers, bodies, etag, expiresAt }))
    } else if (page.status < 500) {
      this.cache.delete(key)
    }
  }

  /** No request waits for a refresh, so its failure is logged here (the stale page was already sent). */
  #refreshFailed (url: string, detail: object): void {
    this.counters.refreshFailures++
    this.#log.warn({ url, ...detail }, 'SSR background refresh failed; the stale page stays in use within its windows')
  }

  /**
   * The page in reserve, when it may stand in for a render that failed or answered 5xx: still within staleIfError,
   * not withdrawn meanwhile (an invalidation, clear or reload marks the flight), and the client still there.
   */
  #standIn (reserve: Found | undefined, flight: Flight, signal: AbortSignal | undefined): ServedPage | undefined {
    if (reserve === undefined || flight.discard || signal?.aborted === true) return undefined
    if (!servableOnError(reserve.entry.expiresAt, this.#now(), this.options.cache ?? {})) return undefined
    this.counters.staleOnError++
    return served(reserve.entry, 'STALE')
  }

  /** Waits for a shared render; when the last waiter's client leaves, the render is cancelled. */
  async #join (flight: Flight, signal: AbortSignal | undefined): Promise<RenderedPage> {
    flight.waiters++
    if (signal === undefined) return await flight.promise
    if (signal.aborted) {
      this.#leave(flight)
      throw signal.reason
    }
    return await new Promise<RenderedPage>((resolve, reject) => {
      const onAbort = (): void => {
        this.#leave(flight)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      flight.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  #leave (flight: Flight): void {
    // Only a render still queued is dropped (see RunSignals.cancel); one already running finishes and is stored, and
    // a request arriving meanwhile joins it. A dropped flight settles within the same turn of the event loop, so a
    // later request never joins it.
    if (--flight.waiters === 0) flight.controller.abort(new Error('no client waits for this render'))
  }

  async #track<T> (promise: Promise<T>): Promise<T> {
    this.#running.add(promise)
    try {
      return await promise
    } finally {
      this.#running.delete(promise)
    }
  }

  /** Admission, deadline and the pool: the only path to a worker. */
  async #render (url: string, data: unknown, timeout: number, cancel: AbortSignal | undefined, compress: boolean): Promise<RenderedPage> {
    if (this.#closing) {
      this.counters.rejected++
      throw new FST_SSR_CLOSING()
    }
    try {
      admit({ inFlight: this.#pool.inFlight, threads: this.options.threads, recentWaitMs: this.#pool.recentWaitMs }, this.options)
    } catch (error) {
      this.counters.rejected++
      throw error
    }
    // The deadline starts now, before the queue: a render that waited past it is not run (see worker.ts).
    const timedOut = new FST_SSR_RENDER_TIMEOUT()
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(timedOut), timeout)
    const onShutdown = (): void => deadline.abort(this.#shutdown.signal.reason)
    this.#shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    this.counters.started++
    try {
      const task = { kind: 'render', url, data, deadline: Date.now() + timeout, compress } as const
      return this.#settle(await this.#pool.run(task, { deadline: deadline.signal, cancel }), timedOut)
    } catch (error) {
      throw this.#poolFailure(error, timedOut, cancel)
    } finally {
      clearTimeout(timer)
      this.#shutdown.signal.removeEventListener('abort', onShutdown)
    }
  }

  /** A worker's answer as a page, or as the coded error it stands for. */
  #settle (outcome: RenderOutcome, timedOut: Error): RenderedPage {
    if (outcome.ok) {
      this.counters.succeeded++
      const { identity, br, gzip } = outcome.bodies
      return { status: outcome.status, headers: outcome.headers, bodies: { identity: adopt(identity), br: adoptOrNull(br), gzip: adoptOrNull(gzip) }, etag: outcome.etag }
    }
    if (outcome.reason === 'expired') {
      this.counters.timedOut++
      throw timedOut
    }
    this.counters.failed++
    throw this.#renderError(outcome)
  }

  /** Why the pool gave no answer, as a coded error; errors thrown by #settle pass through. */
  #poolFailure (error: unknown, timedOut: Error, cancel: AbortSignal | undefined): unknown {
    if (!(error instanceof PoolError)) return error
    if (error.kind === 'aborted') {
      if (error.cause === timedOut) {
        this.counters.timedOut++
        return timedOut
      }
      if (cancel?.aborted === true && error.cause === cancel.reason) this.counters.cancelled++
      // The reason given to the signal: FST_SSR_CLOSING at the close timeout, the caller's own on a cancel.
      return error.cause
    }
    if (error.kind === 'closed') return new FST_SSR_CLOSING()
    // Data the structured clone cannot carry (a function, a class with private state) never reached a worker:
    // the route's mistake, not a crash.
    if ((error.cause as { name?: unknown } | null)?.name === 'DataCloneError') {
      this.counters.failed++
      return new FST_SSR_INVALID_DATA({ cause: error.cause })
    }
    this.counters.crashed++
    return new FST_SSR_WORKER_CRASHED({ cause: error.cause })
  }

  #renderError (outcome: RenderFailure): Error {
    // The bundle's message and stack stay on `cause`, for logs; the coded error itself says nothing of them.
    const cause = Object.assign(new Error(outcome.message), { stack: outcome.stack ?? outcome.message })
    return outcome.reason === 'result'
      ? new FST_SSR_INVALID_RESULT({ cause })
      : new FST_SSR_RENDER_FAILED({ cause })
  }
}

function served (entry: CacheEntry, cache: CacheState): ServedPage {
  const { status, headers, bodies, etag } = entry
  // The hot tier, which every lookup serves from, always holds identity bytes (see expandForHot).
  return { status, headers, bodies: bodies as ServedPage['bodies'], etag, cache }
}

/** A Buffer over bytes transferred from a worker, without copying them. */
function adopt (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function adoptOrNull (bytes: Uint8Array | null): Buffer | null {
  return bytes === null ? null : adopt(bytes)
}
