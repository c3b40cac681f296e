import { resolve } from 'node:path'
import { readBundle, startBundle, type BundleEvents, type LoadedBundle, type PoolEvents } from './bundle/start'
import { FST_SSR_CLOSING, FST_SSR_INVALID_DATA } from './errors'
import type { ResolvedOptions } from './options'
import { servableOnError } from './cache/freshness'
import { customKey, isKeyOfVersion, loaderKey, normalizeUrl, pageKey, UnkeyableDataError, withVersion } from './cache/key'
import { uncachedCacheControl, withCacheHeaders, type PageVary, type StorePolicy } from './cache/policy'
import { mergeVary, varyHeader, variesByCookie, varyKeyPart, type RequestHeaders, type VaryName } from './cache/vary'
import { isLoader, loadData } from './loader'
import { withBytes, type CacheEntry } from './cache/entry'
import { TieredCache, type Found } from './cache/tiers'
import { SharedTier, type SharedSnapshot } from './cache/shared/shared-tier'
import { LatencyHistogram, type LatencySummary } from './metrics/histogram'
import type { Bodies, Page, PageHeaders } from './page'
import { RateLimitedLog } from './limited-log'
import { lookupChannel, storeChannel, tracedSync } from './tracing'
import { BundleHost, type HostLogger } from './bundle/host'
import type { RenderPool } from './render/pool'
import { Renderer, type RenderCounters as PoolRenderCounters } from './render/renderer'

/** Where a response came from, as sent in `x-ssr-cache`. STALE: a page past its TTL, within a stale window. */
export type CacheState = 'HIT-HOT' | 'HIT-COLD' | 'HIT-SHARED' | 'STALE' | 'MISS' | 'BYPASS'

/** A page on its way to a client. Identity is a string only for pages rendered with the cache off (see page.ts). */
export interface ServedPage {
  status: number
  headers: PageHeaders
  bodies: Bodies<Buffer | string>
  /** Strong ETag of the identity body; null for pages rendered with the cache off (see page.ts). */
  etag: string | null
  cache: CacheState
  /** Seconds since it was rendered, for a page served from a cache tier (the Age header); else undefined. */
  age?: number
  /** When it was rendered (ms since the epoch), for a stored page: If-Modified-Since compares it. */
  renderedAt?: number
}

export interface RenderCallOptions {
  /** `false` renders without reading or writing the cache. */
  cache?: boolean
  /** A cache key of the route's own, used instead of the URL and data. */
  key?: string
  /** Milliseconds for this render, queue wait included; overrides the plugin's `renderTimeout`. */
  renderTimeout?: number
  /** Request values this page varies by, besides `cache.vary` (validated names). */
  vary?: readonly VaryName[]
  /** What a data loader is called with: the Fastify request, for `reply.ssr`. */
  request?: unknown
  /**
   * Aborted when the client went away: the caller stops waiting at once. The render itself is dropped only if no one
   * else waits for it and it has not started; a running one finishes (and is stored if cacheable).
   */
  signal?: AbortSignal
}

/** Where the engine logs what no request hears of (workers dying between renders, background work, reloads). */
export type EngineLogger = HostLogger

/**
 * A page a flight produced, with its render time; set when it came from the shared tier, with what Redis had left of
 * its life (ms; null: no expiry).
 */
type RenderedPage = Page & { renderedAt: number, ttl: number | null, fromShared?: true, ttlMs?: number | null }

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
  /** Byte bounds of the tiers (see the cache options): the cache never holds more than their sum. */
  hotMaxBytes: number
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

export interface RenderCounters extends PoolRenderCounters {
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
  /** Where the metrics listener (`metrics.port`) answers, once open. */
  metricsUrl: string | null = null
  readonly #host: BundleHost
  readonly #log: EngineLogger
  /** The cache's clock: TTLs and stale windows. Render deadlines always use real time (workers compare them). */
  readonly #now: () => number
  readonly #flights = new Map<string, Flight>()
  readonly #running = new Set<Promise<unknown>>()
  readonly #renderer: Renderer
  /** What is stored, for how long, and what caches downstream are told (cache/policy.ts). */
  readonly #policy: StorePolicy
  /** Set once a key has carried cache.vary values: invalidations then look for variants. */
  #varied = false
  #closing = false
  #closeTimer: NodeJS.Timeout | undefined
  #closed: Promise<void> | undefined

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
    this.#renderer = new Renderer(() => this.#pool, options, this.counters)
    this.#policy = options.cache ?? neverStored
  }

  /**
   * Reads and checks the bundle, starts the workers and waits until one has loaded it. `now` is the cache's clock
   * (tests move it); it defaults to the wall clock.
   */
  static async start (options: ResolvedOptions, log: EngineLogger, now: () => number = Date.now): Promise<SsrEngine> {
    const latency = { render: new LatencyHistogram(), queueWait: new LatencyHistogram() }
    const events: BundleEvents = {
      workerError: (error) => log.error({ err: error }, 'SSR worker died outside a render; it was replaced'),
      bundleWarning: (warning, path) => log.warn({ path }, `SSR bundle: ${warning}`),
      timing: (timing) => {
        latency.render.record(timing.renderMs)
        latency.queueWait.record(timing.queueWaitMs)
      },
      workerReplaced: replacementLog(log, options.renderTimeout),
      pinned: pinLog(log)
    }
    const first = await startBundle(await readBundle(options.bundle), options, events)
    const engine = new SsrEngine(options, first, events, latency, log, now)
    await engine.shared?.start()
    log.info?.(startupLine(options, first, engine.poolStats().threads), 'SSR engine started')
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
    const found = this.lookup(url, data, call)
    return found instanceof Miss ? await this.fill(found, data, call) : found
  }

  /**
   * The synchronous half of serve(): a page that can be sent now (a hit, or a stale page while one render refreshes
   * it), or the Miss that fill() completes. A hit so costs no promise. Throws FST_SSR_BAD_URL for a request target
   * that cannot be normalized and FST_SSR_INVALID_DATA for data that throws while it is keyed.
   */
  lookup (url: string, data: unknown, call: RenderCallOptions = {}, headers?: RequestHeaders): ServedPage | Miss {
    return tracedSync(lookupChannel, () => ({ tier: 'local' as const, url }), (context) => {
      const found = this.#lookup(url, data, call, headers)
      if (context !== null) context.cache = found instanceof Miss ? (found.key === null ? 'BYPASS' : 'MISS') : found.cache
      return found
    })
  }

  #lookup (url: string, data: unknown, call: RenderCallOptions, headers: RequestHeaders | undefined): ServedPage | Miss {
    const cacheOptions = this.options.cache
    const renderUrl = normalizeUrl(url, cacheOptions?.query ?? null, cacheOptions?.ignoreQuery)
    if (this.cache === null || cacheOptions === null || call.cache === false) return new Miss(renderUrl, null, undefined, noVary)
    const vary = mergeVary(cacheOptions.vary, call.vary)
    const base = this.#keyFor(renderUrl, data, call.key)
    if (base === null) return new Miss(renderUrl, null, undefined, noVary)
    if (vary.length > 0) this.#varied = true
    const key = vary.length === 0 ? base : base + varyKeyPart(vary, headers)
    const found = this.cache.get(key)
    if (found === undefined) return new Miss(renderUrl, key, undefined, vary)
    if (found.freshness === 'fresh') return this.#served(found.entry, found.tier === 'hot' ? 'HIT-HOT' : 'HIT-COLD')
    if (found.freshness === 'stale') {
      // Answered at once, whatever the pool's state (a full queue included); one render refreshes it meanwhile.
      this.counters.staleRevalidate++
      if (!this.#flights.has(key) && !this.#closing) this.#startFlight(key, renderUrl, data, call, vary, true)
      return this.#served(found.entry, 'STALE')
    }
    // A page in reserve (past its TTL, within staleIfError) stands in if the render fails.
    return new Miss(renderUrl, key, found, vary)
  }

  /** Renders what lookup() missed: alone when uncached, else joining or starting the one render of its key. */
  async fill (miss: Miss, data: unknown, call: RenderCallOptions = {}): Promise<ServedPage> {
    const { url, key, reserve } = miss
    if (key === null) {
      // Uncached pages are sent as rendered; an application's @fastify/compress compresses them if it wants.
      const page = await this.#track(this.#renderOnce(url, data, call))
      const headers = page.headers['cache-control'] === undefined ? { ...page.headers, 'cache-control': uncachedCacheControl } : page.headers
      return { ...page, headers, cache: 'BYPASS' }
    }
    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = this.#startFlight(key, url, data, call, miss.vary, false)
    } else {
      this.counters.coalesced++
    }
    let page: RenderedPage
    try {
      page = await this.#join(flight, call.signal)
    } catch (error) {
      const stale = this.#standIn(reserve, flight, call.signal)
      if (stale !== undefined) return stale
      throw error
    }
    if (page.status >= 500) return this.#standIn(reserve, flight, call.signal) ?? { ...page, cache: 'MISS' }
    const { status, headers, bodies, etag, renderedAt } = page
    if (page.fromShared === true) return { status, headers, bodies, etag, renderedAt, cache: 'HIT-SHARED', age: this.#ageOf(renderedAt) }
    return { status, headers, bodies, etag, renderedAt, cache: 'MISS' }
  }

  /** A render with the cache off; a loader's data is loaded first, within the same deadline. */
  async #renderOnce (url: string, data: unknown, call: RenderCallOptions): Promise<Page<string>> {
    const timeout = this.#timeout(call)
    if (!isLoader(data)) return await this.#renderer.renderOnce(url, data, timeout, call)
    const start = Date.now()
    this.#renderer.admit()
    const value = await loadData(data, call.request, timeout)
    return await this.#renderer.renderOnce(url, value, Math.max(1, timeout - (Date.now() - start)), call)
  }

  #served (entry: CacheEntry, cache: CacheState): ServedPage {
    const { status, headers, bodies, etag, renderedAt } = entry
    // The hot tier, which every lookup serves from, always holds identity bytes (see expandForHot).
    return { status, headers, bodies: bodies as ServedPage['bodies'], etag, cache, renderedAt, age: this.#ageOf(renderedAt) }
  }

  /** Whole seconds since `renderedAt` on the cache's clock (RFC 9111 §5.1). */
  #ageOf (renderedAt: number): number {
    return Math.max(0, Math.floor((this.#now() - renderedAt) / 1000))
  }

  #timeout (call: RenderCallOptions): number {
    return call.renderTimeout ?? this.options.renderTimeout
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
    const renderUrl = normalizeUrl(url, this.options.cache?.query ?? null, this.options.cache?.ignoreQuery)
    // Without data, or with a loader, the page the URL decides (loaderKey is the key without data).
    const key = isLoader(data) ? loaderKey(this.version, renderUrl) : dataKey(this.version, renderUrl, data)
    // Data without a canonical form is never stored.
    if (key === null) return false
    this.shared?.invalidateKey(key)
    // Redis names pages by a hash of the whole key, so the variants other instances stored there are reached by the
    // URL: a prefix purge, which may also drop pages under longer URLs (they are rendered again, nothing worse).
    if (this.#varied) this.shared?.invalidatePrefix(renderUrl)
    return this.#dropVariants(key)
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

  /** Drops the page of `base` in every variant cache.vary made of it (keys `base` + NUL + name=value…). */
  #dropVariants (base: string): boolean {
    let removed = this.#dropKey(base)
    if (!this.#varied) return removed
    const prefix = `${base}\u0000`
    for (const [key, flight] of this.#flights) if (key.startsWith(prefix)) flight.discard = true
    if ((this.cache?.deleteWhere((entry) => entry.key.startsWith(prefix)) ?? 0) > 0) removed = true
    return removed
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
        hotMaxBytes: tiers.hot.maxBytes,
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
    this.#renderer.beginClose()
    this.#host.beginClose()
    this.#closeTimer = setTimeout(() => this.#host.abort(new FST_SSR_CLOSING()), this.options.closeTimeout)
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
    // A loader's data is unknown until it runs, which a hit must not need: the URL (and cache.vary) decide alone.
    if (isLoader(data)) return loaderKey(this.version, renderUrl)
    return dataKey(this.version, renderUrl, data)
  }

  #startFlight (key: string, url: string, data: unknown, call: RenderCallOptions, vary: readonly VaryName[], refresh: boolean): Flight {
    const controller = new AbortController()
    const flight: Flight = { url, waiters: refresh ? 1 : 0, controller, discard: false, refresh, promise: undefined as unknown as Promise<RenderedPage> }
    if (refresh) this.counters.refreshes++
    const compress = this.options.compression !== null
    const timeout = this.#timeout(call)
    const pageVary: PageVary = { header: varyHeader(vary), byCookie: variesByCookie(vary) }
    const render = async (): Promise<RenderedPage> => await this.#track((async () => {
      const start = Date.now()
      let value = data
      if (isLoader(data)) {
        // No loader runs for a render the queue would refuse anyway.
        this.#renderer.admit()
        value = await loadData(data, call.request, timeout)
      }
      const page = await this.#renderer.render(url, value, Math.max(1, timeout - (Date.now() - start)), compress, controller)
      const renderedAt = this.#now()
      // Added before the shared tier writes the page through, so every instance serves the same headers.
      const { headers, ttl } = withCacheHeaders({ url, status: page.status, headers: page.headers }, renderedAt, pageVary, this.#policy)
      return { ...page, headers, renderedAt, ttl }
    })())
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
    // Decided from what the render said, before the headers for downstream caches were added (a page that varies by
    // a cookie says private to them, yet is stored here, under a key holding that cookie).
    const { ttl } = page
    if (ttl !== null) {
      const { status, headers, bodies, etag, renderedAt } = page
      // A page from Redis lives here no longer than it had left there.
      const remainingMs = page.ttlMs ?? Infinity
      const expiresAt = this.#now() + Math.min(remainingMs, ttl === 0 ? Infinity : ttl * 1000)
      const entry = withBytes({ key, url: flight.url, status, headers, bodies, etag, expiresAt, renderedAt })
      const cache = this.cache
      tracedSync(storeChannel, () => ({ tier: 'local' as const, url: flight.url, key, bytes: entry.bytes }), () => cache.set(entry))
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
    return this.#served(reserve.entry, 'STALE')
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
}

/**
 * Logs a worker lost with a render: stopped at its deadline, or dead (exit, heap limit); a new one is starting.
 * The request's own failure is logged where it is answered, with the stack: these lines carry none, and under a
 * storm of them (a bundle that hangs every render) come once per 10 s with a count. Recycling is routine: unlogged.
 */
function replacementLog (log: EngineLogger, renderTimeout: number): NonNullable<PoolEvents['workerReplaced']> {
  const limited = new RateLimitedLog()
  return (reason, threadId) => {
    if (reason === 'deadline') {
      limited.write(log, 'warn', reason, { threadId, renderTimeout },
        'SSR render still running at its deadline: its worker was terminated and a new one is starting')
    } else if (reason === 'crash') {
      limited.write(log, 'warn', reason, { threadId }, 'SSR worker died during a render: a new one is starting')
    }
  }
}

/** What a server starts with, said once at startup: which bundle, how many threads, how much memory the cache may take. */
function startupLine (options: ResolvedOptions, bundle: LoadedBundle, threads: number): object {
  const { cache } = options
  return {
    bundle: bundle.path,
    version: bundle.version,
    threads,
    renderTimeout: options.renderTimeout,
    maxQueue: options.maxQueue,
    cache: cache === null
      ? false
      : {
          hotEntries: cache.hotEntries,
          hotMaxBytes: cache.hotMaxBytes,
          coldEntries: cache.coldEntries,
          coldMaxBytes: cache.coldMaxBytes,
          ttl: cache.ttl,
          shared: cache.shared === null ? false : { prefix: cache.shared.prefix, timeout: cache.shared.timeout }
        }
  }
}

/** Logs where `pinThreads` put each worker: every success at info, the first failure at warn (the rest would repeat it). */
function pinLog (log: EngineLogger): NonNullable<PoolEvents['pinned']> {
  let warned = false
  return (threadId, result) => {
    if ('cpu' in result) {
      log.info?.({ threadId, cpu: result.cpu }, 'SSR worker pinned to its CPU')
    } else if (!warned) {
      warned = true
      log.warn({ threadId, reason: result.failed }, 'SSR worker could not be pinned to a CPU; workers run unpinned')
    }
  }
}

/** What lookup() could not answer: the normalized URL, the key (null: uncached), and a page in reserve. */
export class Miss {
  constructor (readonly url: string, readonly key: string | null, readonly reserve: Found | undefined, readonly vary: readonly VaryName[]) {}
}

const noVary: readonly VaryName[] = []
/** The policy when the cache is off: nothing is stored. */
const neverStored: StorePolicy = { ttl: 0, statusTtl: new Map(), staleWhileRevalidate: 0, staleIfError: 0, control: 'default' }

/**
 * The key of a page derived from its URL and data. Null for data without a canonical form (a cycle), which can still
 * be rendered, just never shared; FST_SSR_INVALID_DATA for data that throws while it is read (a getter, a Proxy) or
 * nests too deep to walk, with the thrown error as its cause only.
 */
function dataKey (version: string, url: string, data: unknown): string | null {
  try {
    return pageKey(version, url, data)
  } catch (error) {
    if (error instanceof UnkeyableDataError) return null
    throw new FST_SSR_INVALID_DATA({ cause: error })
  }
}
