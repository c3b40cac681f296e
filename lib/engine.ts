import { resolve } from 'node:path'
import { dropped, Flights, type Flight } from './cache/flights'
import { servableOnError } from './cache/freshness'
import { customKey, keyOf, normalizeUrl, withVersion } from './cache/key'
import { Purges } from './cache/purge'
import type { PageVary, StorePolicy } from './cache/policy'
import { openSharedTier, type SharedTier } from './cache/shared/open'
import { storeRendered, TieredCache, type Found } from './cache/tiers'
import { ageOf, servedFrom } from './cache/entry'
import { mergeVary, varyHeader, variesByCookie, varyKeyPart, type RequestHeaders, type VaryName } from './cache/vary'
import type { EngineLogger } from './engine-log'
import { FST_SSR_CLOSING } from './errors'
import { LatencyHistogram } from './metrics/histogram'
import { newFlightCounters, snapshotOf, type BundleInfo, type EngineSnapshot, type FlightCounters } from './metrics/snapshot'
import type { ResolvedOptions } from './options'
import { Miss, type BundleSide, type EngineParts, type RenderCallOptions } from './engine-parts'
import { PageMaker, type MadePage, type PageRenderer } from './page-maker'
import type { Page, ServedPage } from './page'
import type { PoolStats } from './render/pool'
import type { Maybe } from './thenable'
import { lookupChannel, tracedSync } from './tracing'

export type { EngineLogger } from './engine-log'
export type { BundleInfo, EngineSnapshot } from './metrics/snapshot'
export type { ServedPage } from './page'
export { Miss, type BundleSide, type EngineParts, type RenderCallOptions } from './engine-parts'

/** A page a flight produced; set when it came from the shared tier, with what Redis had left of its life (ms). */
type FlightPage = MadePage & { fromShared?: true, ttlMs?: number | null }

const noVary: readonly VaryName[] = []
/** The policy when the cache is off: nothing is stored. */
const neverStored: StorePolicy = { ttl: 0, statusTtl: new Map(), staleWhileRevalidate: 0, staleIfError: 0, control: 'default' }

/** A page rendered with the cache off, as it is served. */
function bypassed ({ status, headers, bodies, etag, lease }: Page<Buffer | string>): ServedPage {
  return { status, headers, bodies, etag, cache: 'BYPASS', lease }
}

/**
 * The render-or-serve decision, free of Fastify: look up the cache, join a render already in flight, render, store
 * what may be shared, stand in with a stale page when a render fails, invalidate, close. Rendering itself is the
 * renderer's (admission, deadline, the pool); the engine takes it as a part, so its decisions are tested without
 * workers.
 */
export class SsrEngine {
  readonly options: ResolvedOptions
  readonly cache: TieredCache | null
  /** The shared Redis tier behind `cache`, when configured. */
  readonly shared: SharedTier | null
  readonly counters: FlightCounters = newFlightCounters()
  readonly latency: { render: LatencyHistogram, queueWait: LatencyHistogram }
  /** Where the metrics listener (`metrics.port`) answers, once open. */
  metricsUrl: string | null = null
  readonly #renderer: PageRenderer
  readonly #bundles: BundleSide
  readonly #maker: PageMaker
  readonly #log: EngineLogger
  readonly #now: () => number
  readonly #flights = new Flights<FlightPage>()
  readonly #purges: Purges
  readonly #running = new Set<Promise<unknown>>()
  /** What is stored, for how long, and what caches downstream are told (cache/policy.ts). */
  readonly #policy: StorePolicy
  #closing = false
  #closeTimer: NodeJS.Timeout | undefined
  #closed: Promise<void> | undefined

  constructor (options: ResolvedOptions, parts: EngineParts) {
    this.options = options
    this.#renderer = parts.renderer
    this.#bundles = parts.bundles
    this.#log = parts.log
    this.#now = parts.now ?? Date.now
    this.latency = parts.latency ?? { render: new LatencyHistogram(), queueWait: new LatencyHistogram() }
    this.#policy = options.cache ?? neverStored
    this.#maker = new PageMaker(this.#renderer, this.#policy, this.#now, options.compression !== null)
    this.cache = options.cache === null ? null : new TieredCache(options.cache, this.#now)
    const purges = new Purges(this.cache, this.#flights)
    this.#purges = purges
    // Other instances' invalidations reach the local tiers by the paths of this instance's own.
    this.shared = options.cache?.shared == null
      ? null
      : openSharedTier(options.cache.shared, {
        dropKey: (rest) => purges.dropKey(withVersion(this.version, rest)),
        dropPrefix: (prefix) => purges.dropPrefix(prefix),
        dropAll: () => purges.dropAll()
      }, parts.log)
    purges.bus = this.shared
    this.#bundles.onSwitch((previous, next) => { if (previous.version !== next.version) purges.dropOtherVersions(next.version) })
  }

  /** Content hash of the bundle serving now; part of every cache key. */
  get version (): string {
    return this.#bundles.current.version
  }

  get closing (): boolean {
    return this.#closing
  }

  /** The page for `url` and `data`: from the cache, from a render in flight, or rendered now. */
  async serve (url: string, data: unknown, call: RenderCallOptions = {}, headers?: RequestHeaders): Promise<ServedPage> {
    const found = this.lookup(url, data, call, headers)
    return found instanceof Miss ? await this.fill(found, data, call) : found
  }

  /**
   * The synchronous half of serve(): a page that can be sent now (a hit, or a stale page while one render refreshes
   * it), or the Miss that fill() completes. A hit so costs no promise. Throws FST_SSR_BAD_URL for a request target
   * that cannot be normalized and FST_SSR_INVALID_DATA for data that throws while it is keyed.
   */
  lookup (url: string, data: unknown, call: RenderCallOptions = {}, headers?: RequestHeaders): ServedPage | Miss {
    // Every hit passes here: untraced, no closure is made for the span.
    if (!lookupChannel.hasSubscribers) return this.#lookup(url, data, call, headers)
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
    const base = keyOf(this.version, renderUrl, data, call.key)
    if (base === null) return new Miss(renderUrl, null, undefined, noVary)
    const vary = mergeVary(cacheOptions.vary, call.vary)
    if (vary.length > 0) this.#purges.varied = true
    const key = vary.length === 0 ? base : base + varyKeyPart(vary, headers)
    const found = this.cache.get(key)
    if (found === undefined) return new Miss(renderUrl, key, undefined, vary)
    if (found.freshness === 'fresh') return servedFrom(found.entry, found.tier === 'hot' ? 'HIT-HOT' : 'HIT-COLD', this.#now())
    if (found.freshness === 'stale') {
      // Answered at once, whatever the pool's state (a full queue included); one render refreshes it meanwhile.
      this.counters.stale.revalidate++
      if (!this.#flights.has(key) && !this.#closing) this.#startFlight(key, renderUrl, data, call, vary, true)
      return servedFrom(found.entry, 'STALE', this.#now())
    }
    // A page in reserve (past its TTL, within staleIfError) stands in if the render fails.
    return new Miss(renderUrl, key, found, vary)
  }

  /**
   * Renders what lookup() missed: alone when uncached, else joining or starting the one render of its key. An
   * uncached page rendered at once (`threads: 0`, a synchronous bundle and loader) is answered at once: the page, or
   * the coded error thrown; otherwise a promise.
   */
  fill (miss: Miss, data: unknown, call: RenderCallOptions = {}): Maybe<ServedPage> {
    if (miss.key !== null) return this.#fillStored(miss, miss.key, data, call)
    // Uncached pages are sent as rendered; an application's @fastify/compress compresses them if it wants.
    const made = this.#maker.once(miss.url, data, call.request, this.#timeout(call), call, call.text === true)
    return made instanceof Promise ? this.#track(made).then(bypassed) : bypassed(made)
  }

  async #fillStored (miss: Miss, key: string, data: unknown, call: RenderCallOptions): Promise<ServedPage> {
    const { url, reserve } = miss
    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = this.#startFlight(key, url, data, call, miss.vary, false)
    } else {
      this.counters.coalesced++
    }
    let page: FlightPage
    try {
      page = await this.#flights.join(flight, call.signal)
    } catch (error) {
      // It joined a render dropped as its last waiter left (in the same turn): it still waits, so it renders anew.
      if (dropped(flight, error) && call.signal?.aborted !== true) return await this.#fillStored(miss, key, data, call)
      const stale = this.#standIn(reserve, flight, call.signal)
      if (stale !== undefined) return stale
      throw error
    }
    if (page.status >= 500) return this.#standIn(reserve, flight, call.signal) ?? { ...page, cache: 'MISS' }
    const { status, headers, bodies, etag, renderedAt } = page
    if (page.fromShared === true) return { status, headers, bodies, etag, renderedAt, cache: 'HIT-SHARED', age: ageOf(renderedAt, this.#now()) }
    return { status, headers, bodies, etag, renderedAt, cache: 'MISS' }
  }

  /**
   * Replaces the bundle without a restart (see bundle/host.ts): pages of the old bundle are dropped once the new one
   * serves; resolves when the old workers have finished their renders and stopped. Rejects with FST_SSR_BUNDLE_LOAD,
   * the old bundle still serving, or FST_SSR_CLOSING.
   */
  async reload (path?: string): Promise<BundleInfo> {
    if (this.#closing) throw new FST_SSR_CLOSING()
    const loaded = await this.#bundles.reload(path === undefined ? undefined : resolve(path))
    return { path: loaded.path, version: loaded.version, loadedAt: loaded.loadedAt.toISOString() }
  }

  /** These four act on this instance's tiers at once, and, with a shared tier, on Redis and every instance. */
  invalidate (url: string, data?: unknown): boolean {
    const renderUrl = normalizeUrl(url, this.options.cache?.query ?? null, this.options.cache?.ignoreQuery)
    // Without data, or with a loader, the page the URL decides. Data without a canonical form is never stored.
    const key = keyOf(this.version, renderUrl, data)
    return key !== null && this.#purges.page(key, renderUrl)
  }

  /** Removes the page stored under a key a route supplied with `{ key }`. */
  invalidateKey (key: string): boolean {
    return this.#purges.key(customKey(this.version, key))
  }

  invalidatePrefix (prefix: string): number {
    return this.#purges.prefix(prefix)
  }

  clear (): number {
    return this.#purges.clear()
  }

  /** The current pool's figures (threads, queue), with the restarts of every pool this engine ran. */
  poolStats (): PoolStats {
    return this.#bundles.poolStats()
  }

  /** Counters, latencies and sizes as they are now; `fastify.ssr.metrics()` and the metrics route show this. */
  snapshot (): EngineSnapshot {
    const { current } = this.#bundles
    return snapshotOf({
      cache: this.cache,
      shared: this.shared,
      flights: this.counters,
      renders: this.#renderer.counters,
      latency: this.latency,
      pool: this.poolStats(),
      maxQueue: this.options.maxQueue,
      bundle: { path: current.path, version: current.version, loadedAt: current.loadedAt.toISOString(), reloads: this.#bundles.reloads }
    })
  }

  /**
   * Stops admitting renders; those in flight may finish for up to `closeTimeout`, after which they are stopped
   * and answered 503. Called when the server starts closing, before it waits for its open requests.
   */
  beginClose (): void {
    if (this.#closing) return
    this.#closing = true
    this.#renderer.beginClose()
    this.#bundles.beginClose()
    this.#closeTimer = setTimeout(() => this.#bundles.abort(new FST_SSR_CLOSING()), this.options.closeTimeout)
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
    await this.#bundles.close()
    await this.shared?.close()
  }

  #startFlight (key: string, url: string, data: unknown, call: RenderCallOptions, vary: readonly VaryName[], refresh: boolean): Flight<FlightPage> {
    if (refresh) this.counters.refreshes++
    const timeout = this.#timeout(call)
    const pageVary: PageVary = { header: varyHeader(vary), byCookie: variesByCookie(vary) }
    return this.#flights.start(key, url, refresh, async (flight) => {
      const render = async (): Promise<MadePage> => await this.#track(this.#maker.forStore(url, data, call.request, timeout, pageVary, flight.controller))
      // With a shared tier, a miss (or a refresh) asks Redis, or waits for another instance's render, first.
      if (this.shared === null) return await render()
      return await this.shared.fetch(key, url, render, { signal: flight.controller.signal, waitMs: timeout, discarded: () => flight.discard })
    }, {
      page: (done, page) => this.#store(done, page),
      error: (done, error) => {
        if (done.refresh) this.#refreshFailed(url, { err: (error as { cause?: unknown }).cause ?? error, code: (error as { code?: string }).code })
      }
    })
  }

  /**
   * Keeps what a render produced (see storeRendered), unless an invalidation, clear or reload ran meanwhile. A refresh
   * that answered 5xx failed: the stale page stays.
   */
  #store (flight: Flight<FlightPage>, page: FlightPage): void {
    if (page.status >= 500 && flight.refresh) this.#refreshFailed(flight.url, { status: page.status })
    if (!flight.discard && this.cache !== null) storeRendered(this.cache, flight.key, flight.url, page, this.#now())
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
  #standIn (reserve: Found | undefined, flight: Flight<FlightPage>, signal: AbortSignal | undefined): ServedPage | undefined {
    if (reserve === undefined || flight.discard || signal?.aborted === true) return undefined
    if (!servableOnError(reserve.entry.expiresAt, this.#now(), this.options.cache ?? {})) return undefined
    this.counters.stale.error++
    return servedFrom(reserve.entry, 'STALE', this.#now())
  }

  #timeout (call: RenderCallOptions): number {
    return call.renderTimeout ?? this.options.renderTimeout
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
