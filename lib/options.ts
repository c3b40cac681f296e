import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import type { FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Registry } from 'prom-client'
import { FST_SSR_INVALID_OPTION } from './errors'
import type { CompressionSettings } from './render/encode'
import { ignoredQuery, type IgnoredQuery } from './cache/key'
import type { CacheControlPage, CacheControlPolicy } from './cache/policy'
import { mergeVary, parseVaryName, type VaryName } from './cache/vary'

/** Decides whether a request may use an admin route; `false` (or a rejection) answers 401. */
export type SsrAuth = (request: FastifyRequest) => boolean | Promise<boolean>

/**
 * `GET /_ssr/metrics`: JSON, or Prometheus text with `Accept: text/plain` or `?format=prometheus`. The route exists
 * only where you say how it is protected: behind `auth` on the application's server, and/or on a listener of its
 * own (`port`), bound to loopback. A reverse proxy in front of the application then cannot expose it by accident.
 */
export interface SsrMetricsOptions {
  /** Route path, on both. Default `/_ssr/metrics`. */
  path?: string
  /** Serves the route on the application's server, to requests this function allows (`true`); others get 401. */
  auth?: SsrAuth
  /**
   * Serves the route on a listener of its own, on this port (0: any free port, see `app.ssr.metricsUrl`), opened at
   * `ready()` and closed with the server. No `auth` applies there: keep it off the network.
   */
  port?: number
  /** Address of the metrics listener. Default `127.0.0.1`. */
  host?: string
  /**
   * A prom-client registry of the application's (`register` of prom-client, or fastify-metrics' registry): the
   * plugin's metrics join it under the same names, so the application's own `/metrics` scrape covers them. Removed
   * from it when the server closes.
   */
  registry?: Registry
}

/** `DELETE /_ssr/cache[?prefix=/products]`: clears the cache, or the pages under a prefix. Off unless configured. */
export interface SsrPurgeOptions {
  /** Route path. Default `/_ssr/cache`. */
  path?: string
  /** Who may purge. Required: the route never exists unprotected. */
  auth: SsrAuth
}

/** Options of the cache tiers (see the README's "Cache" section). */
export interface SsrCacheOptions {
  /** Entries in the hot tier of ready-to-send pages. Default 128. */
  hotEntries?: number
  /**
   * Bytes the hot tier may hold, counting every byte of every entry (HTML, br and gzip bodies, headers, key, URL).
   * A page larger than this is never stored. Default 32 MiB.
   */
  hotMaxBytes?: number
  /** Entries in the cold tier. Default 1000. */
  coldEntries?: number
  /**
   * Bytes the cold tier may hold, counting every byte of every entry in the compact form the cold tier keeps (br and
   * gzip, without the HTML). A page whose compact form is larger is not stored. Default 64 MiB. The page cache
   * holds at most `hotMaxBytes + coldMaxBytes`.
   */
  coldMaxBytes?: number
  /** Seconds a page stays fresh after it was rendered; 0 keeps it until evicted. Default 300. */
  ttl?: number
  /**
   * Seconds after `ttl` during which an expired page is still served at once (`x-ssr-cache: STALE`) while one
   * background render refreshes it. Default 0 (off).
   */
  staleWhileRevalidate?: number
  /**
   * Seconds after `ttl` during which an expired page is kept in reserve: a request renders as on a miss, and gets the
   * old page (`x-ssr-cache: STALE`) instead of an error if that render fails, times out, answers 5xx or the queue
   * is full. Default 0 (off).
   */
  staleIfError?: number
  /**
   * Query parameters that enter the cache key and reach the render; others are dropped from both,
   * so `?utm_source=` or cache-busters cannot multiply entries. Default: every parameter.
   */
  query?: string[]
  /**
   * Query parameters dropped from the cache key and from the URL the render sees, so tracking links do not each
   * cost a render and an entry; a trailing `*` matches a prefix. `[]` keeps them all. Default
   * `['utm_*', 'gclid', 'fbclid', 'msclkid']`.
   */
  ignoreQuery?: string[]
  /**
   * Request values that enter the key of every page: header names (`'accept-language'`) and named cookies
   * (`'cookie:currency'`); responses then carry the matching `Vary`. Per call, `{ vary }` adds to these. Default `[]`.
   */
  vary?: string[]
  /**
   * The Cache-Control of stored pages whose render set none. Default `'public, max-age=0, must-revalidate'`: browsers
   * and shared caches revalidate every time (mostly 304s). `'shared'`: `public, max-age=0, s-maxage=<ttl>` plus
   * `stale-while-revalidate`/`stale-if-error` from the windows, for a CDN whose purges you drive yourself. A string
   * is used as it is; a function gets `{ url, status, headers }` once per stored page. Pages never stored get
   * `private, no-store` unless their render set a Cache-Control.
   */
  control?: 'shared' | string | ((page: CacheControlPage) => string)
  /**
   * Statuses stored besides 200, with their TTL in seconds (negative caching, like nginx's proxy_cache_valid):
   * `{ 404: 10 }` keeps unknown URLs from costing a render each. Default `{}`.
   */
  statusTtl?: Record<number, number>
  /** A shared tier in Redis behind hot and cold, for several instances (see the README's "Deployment" section). */
  shared?: SsrSharedCacheOptions
}

/** The shared Redis tier: pages, invalidations and render locks shared by every instance of a deployment. */
export interface SsrSharedCacheOptions {
  /**
   * An ioredis client of one Redis (or Valkey) primary, or Sentinel, or a `redis://` / `rediss://` URL. A client is
   * used as configured and never closed by the plugin (it adds a duplicate of it to subscribe); from a URL the
   * plugin makes and closes its own connections. Required.
   */
  redis: Redis | string
  /** Prefix of every Redis name and channel; give each deployment its own. Default `'ssr:'`. */
  prefix?: string
  /** Seconds a page stays in Redis after it was rendered; 0 keeps it until Redis evicts it. Default: `cache.ttl`. */
  ttl?: number
  /**
   * Milliseconds a request may spend in Redis calls, all of them together (a lookup, and the lookups made while it
   * waits for another instance's render), before it goes on without Redis. Default 200.
   */
  timeout?: number
  /**
   * Milliseconds of the render lock that makes N instances missing a page render it once; the holder extends it
   * while rendering, so this is how soon a crashed holder is replaced. 0: no cluster-wide coalescing. Default 2000.
   */
  lockTtl?: number
}

/** How cached pages are compressed, once, in the worker that renders them. */
export interface SsrCompressionOptions {
  /** Brotli quality, 0 to 11. Default 5: 0.1 ms for a 20 KB page here, within 2% of quality 8's size. */
  brotliQuality?: number
  /** Gzip level, 1 to 9. Default 6. */
  gzipLevel?: number
  /** Pages smaller than this many bytes are kept uncompressed. Default 1024. */
  threshold?: number
}

/** Options of `fastify.register(ssrPlugin, options)`. */
export interface SsrOptions {
  /** Path of the server bundle (script or CommonJS), resolved against the working directory. Required. */
  bundle: string
  /** Global function a script bundle sets, as in Rusty-SSR. Default `renderPage`. */
  renderFunction?: string
  /** Worker threads that render. Default `os.availableParallelism()`. */
  threads?: number
  /** Renders that may wait for a thread; past it requests get 503 with Retry-After. Default 512. */
  maxQueue?: number
  /** Milliseconds a render may take, queue wait included, before it is stopped with 504. Default 10000. */
  renderTimeout?: number
  /** Extra globals for the sandbox; values must be structured-cloneable. Default `{}`. */
  globals?: Record<string, unknown>
  /**
   * Adds inert browser globals to the sandbox: `window` and `self` (the global object), `document`, `navigator`,
   * `location` (the URL being rendered), fresh `localStorage`/`sessionStorage` per render, `history`, `matchMedia`,
   * `requestAnimationFrame`, observers, `Image`. For bundles written for the browser, such as Rusty-SSR's. Off by
   * default, so that libraries probing `typeof window` / `typeof document` take their server code paths (emotion's
   * critical CSS, for one). Default false.
   */
  browserGlobals?: boolean
  /** Fixed Retry-After seconds on 503; by default derived from the measured queue wait. */
  retryAfter?: number
  /** Heap limit of each worker in MiB (worker `resourceLimits.maxOldGenerationSizeMb`). Default: Node's. */
  maxHeapMb?: number
  /** Milliseconds `close()` lets in-flight renders finish before stopping them. Default 10000. */
  closeTimeout?: number
  /**
   * Milliseconds a new pool's first worker may take to start and load the bundle (at `ready()` and on each reload)
   * before FST_SSR_BUNDLE_LOAD. Its own bound, not a multiple of `renderTimeout`: starting a thread and compiling a
   * large bundle on a busy machine can take seconds, a render should not. Default 60000.
   */
  startTimeout?: number
  /**
   * Replace a worker after it has rendered this many pages (against bundles that leak memory across renders). A warm
   * spare worker is kept so that no request waits for a replacement to start. Default: never.
   */
  maxRendersPerWorker?: number
  /**
   * Reload the bundle when its file changes (debounced, logged), as `fastify.ssr.reload()` does. For development.
   * Default false.
   */
  watch?: boolean
  /**
   * Pin each worker thread to a CPU of its own (Linux, with util-linux's `taskset`), spreading them over the CPUs the
   * process may use; the main thread stays unpinned. Logged; where it cannot work, logged and skipped. Default false.
   */
  pinThreads?: boolean
  /** Page cache options, or `false` to render every request. */
  cache?: SsrCacheOptions | false
  /** Compression of cached pages (br and gzip, made once in the worker), or `false` to send them uncompressed. */
  compression?: SsrCompressionOptions | false
  /** The metrics route, behind `auth` and/or on a loopback listener of its own (`port`). Absent unless given. */
  metrics?: SsrMetricsOptions | false
  /** The purge route; absent by default. */
  purge?: SsrPurgeOptions
}

export interface ResolvedRoute {
  path: string
  auth: SsrAuth
}

export interface ResolvedMetrics {
  path: string
  /** Null: not served on the application's server. */
  auth: SsrAuth | null
  /** Null: no listener of its own. */
  port: number | null
  host: string
  /** The application's prom-client registry, or null. */
  registry: Registry | null
}

export interface ResolvedSharedOptions {
  redis: Redis | string
  prefix: string
  /** Seconds a page stays in Redis; 0: until Redis evicts it. */
  ttl: number
  /** Milliseconds of Redis calls a request may spend in total; also the bound of each background call. */
  timeout: number
  /** Milliseconds of the render lock; 0: no cluster-wide coalescing. */
  lockTtl: number
}

export interface ResolvedCacheOptions {
  hotEntries: number
  hotMaxBytes: number
  coldEntries: number
  coldMaxBytes: number
  ttl: number
  staleWhileRevalidate: number
  staleIfError: number
  query: ReadonlySet<string> | null
  ignoreQuery: IgnoredQuery
  vary: readonly VaryName[]
  control: CacheControlPolicy
  statusTtl: ReadonlyMap<number, number>
  shared: ResolvedSharedOptions | null
}

export interface ResolvedOptions {
  bundle: string
  renderFunction: string
  threads: number
  maxQueue: number
  renderTimeout: number
  globals: Record<string, unknown>
  browserGlobals: boolean
  retryAfter: number | null
  maxHeapMb: number | null
  closeTimeout: number
  startTimeout: number
  maxRendersPerWorker: number | null
  watch: boolean
  pinThreads: boolean
  cache: ResolvedCacheOptions | null
  compression: CompressionSettings | null
  metrics: ResolvedMetrics | null
  purge: ResolvedRoute | null
}

export const defaultCacheOptions = Object.freeze({
  hotEntries: 128,
  hotMaxBytes: 32 * 1024 * 1024,
  coldEntries: 1000,
  coldMaxBytes: 64 * 1024 * 1024,
  ttl: 300,
  staleWhileRevalidate: 0,
  staleIfError: 0
})

export const defaultCompression: Readonly<CompressionSettings> = Object.freeze({
  brotliQuality: 5,
  gzipLevel: 6,
  threshold: 1024
})

export const defaultOptions = Object.freeze({
  renderFunction: 'renderPage',
  maxQueue: 512,
  renderTimeout: 10_000,
  closeTimeout: 10_000,
  startTimeout: 60_000
})

export const defaultSharedOptions = Object.freeze({
  prefix: 'ssr:',
  timeout: 200,
  lockTtl: 2000
})

const identifier = /^[A-Za-z_$][\w$]*$/

function invalid (name: string, expected: string): never {
  throw new FST_SSR_INVALID_OPTION(name, expected)
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function integer (name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(name, `expected an integer from ${min} to ${max}, got ${describe(value)}`)
  }
  return value
}

function flag (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') invalid(name, `expected true or false, got ${describe(value)}`)
  return value
}

function optionalPositive (name: string, value: unknown): number | null {
  if (value === undefined) return null
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalid(name, `expected a positive number, got ${describe(value)}`)
  }
  return value
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}

function resolveGlobals (value: unknown): Record<string, unknown> {
  if (value === undefined) return {}
  if (!isPlainObject(value)) invalid('globals', `expected a plain object, got ${describe(value)}`)
  for (const [key, entry] of Object.entries(value)) {
    // Globals cross the thread boundary to every worker, so they must survive structured cloning.
    try {
      structuredClone(entry)
    } catch {
      invalid(`globals.${key}`, 'expected a structured-cloneable value (no functions, symbols or class instances with private state)')
    }
  }
  return { ...value }
}

/** Most entries a tier may be given. */
const maxEntries = 1_000_000

function resolveCache (value: unknown): ResolvedCacheOptions | null {
  if (value === false) return null
  if (value === undefined) value = {}
  if (!isPlainObject(value)) invalid('cache', `expected false or an object, got ${describe(value)}`)
  const known = new Set(['hotEntries', 'hotMaxBytes', 'coldEntries', 'coldMaxBytes', 'ttl', 'staleWhileRevalidate', 'staleIfError', 'query',
    'ignoreQuery', 'vary', 'control', 'statusTtl', 'shared'])
  for (const key of Object.keys(value)) {
    if (!known.has(key)) invalid(`cache.${key}`, `unknown option; expected one of ${[...known].join(', ')}`)
  }
  let query: Set<string> | null = null
  if (value.query !== undefined) {
    if (!Array.isArray(value.query) || !value.query.every((name) => typeof name === 'string')) {
      invalid('cache.query', `expected an array of parameter names, got ${describe(value.query)}`)
    }
    query = new Set(value.query as string[])
  }
  const ttl = integer('cache.ttl', value.ttl, defaultCacheOptions.ttl, 0)
  return {
    // The LRU allocates its slots for this many entries up front: a bound, not a wish.
    hotEntries: integer('cache.hotEntries', value.hotEntries, defaultCacheOptions.hotEntries, 1, maxEntries),
    hotMaxBytes: integer('cache.hotMaxBytes', value.hotMaxBytes, defaultCacheOptions.hotMaxBytes, 1),
    coldEntries: integer('cache.coldEntries', value.coldEntries, defaultCacheOptions.coldEntries, 0, maxEntries),
    coldMaxBytes: integer('cache.coldMaxBytes', value.coldMaxBytes, defaultCacheOptions.coldMaxBytes, 0),
    ttl,
    staleWhileRevalidate: integer('cache.staleWhileRevalidate', value.staleWhileRevalidate, defaultCacheOptions.staleWhileRevalidate, 0),
    staleIfError: integer('cache.staleIfError', value.staleIfError, defaultCacheOptions.staleIfError, 0),
    query,
    ignoreQuery: ignoredQuery(nameList('cache.ignoreQuery', value.ignoreQuery, defaultIgnoreQuery, 'parameter names')),
    vary: resolveVary('cache.vary', value.vary),
    control: resolveControl(value.control),
    statusTtl: resolveStatusTtl(value.statusTtl),
    shared: resolveShared(value.shared, ttl)
  }
}

/** Tracking parameters that never decide a page. */
export const defaultIgnoreQuery = Object.freeze(['utm_*', 'gclid', 'fbclid', 'msclkid'])

function nameList (name: string, value: unknown, fallback: readonly string[], what: string): string[] {
  if (value === undefined) return [...fallback]
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.length > 0)) {
    invalid(name, `expected an array of ${what}, got ${describe(value)}`)
  }
  return value as string[]
}

/** Validates `vary` names (of `cache.vary` or of one call). */
export function resolveVary (name: string, value: unknown): VaryName[] {
  const names = nameList(name, value, [], "header names or 'cookie:<name>'")
  return mergeVary([], names.map((raw) => parseVaryName(raw) ?? invalid(name, `expected header names or 'cookie:<name>', got ${JSON.stringify(raw)}`))) as VaryName[]
}

function resolveControl (value: unknown): CacheControlPolicy {
  if (value === undefined) return 'default'
  if (typeof value === 'function') return value as CacheControlPolicy
  if (value === 'shared') return 'shared'
  // A value that could split the response is refused here rather than at the first hit.
  if (typeof value === 'string' && value.trim() !== '' && /^[\t\x20-\x7e]+$/.test(value)) return { value }
  return invalid('cache.control', `expected 'shared', a Cache-Control value or a function (page) => string, got ${describe(value)}`)
}

function resolveStatusTtl (value: unknown): ReadonlyMap<number, number> {
  if (value === undefined) return new Map()
  if (!isPlainObject(value)) invalid('cache.statusTtl', `expected an object of status: seconds, got ${describe(value)}`)
  const ttls = new Map<number, number>()
  for (const [status, seconds] of Object.entries(value)) {
    const code = Number(status)
    // 200 has cache.ttl; 5xx are failures that staleIfError covers, never pages to keep.
    if (!Number.isInteger(code) || code < 201 || code > 499) invalid(`cache.statusTtl.${status}`, 'expected a status from 201 to 499')
    ttls.set(code, integer(`cache.statusTtl.${status}`, seconds, 0, 1))
  }
  return ttls
}

/** A client is recognized by what the shared tier calls on it; anything else is refused at registration. */
function isRedisClient (value: unknown): value is Redis {
  if (value === null || typeof value !== 'object') return false
  const client = value as Record<string, unknown>
  return typeof client.duplicate === 'function' && typeof client.callBuffer === 'function' && typeof client.status === 'string'
}

function resolveRedis (value: unknown): Redis | string {
  const expected = 'expected an ioredis client or a redis:// or rediss:// URL'
  if (typeof value === 'string') {
    let protocol = ''
    try {
      protocol = new URL(value).protocol
    } catch {}
    // The URL may carry a password: the message never repeats it.
    if (protocol !== 'redis:' && protocol !== 'rediss:') invalid('cache.shared.redis', `${expected}, got a string that is not one`)
    return value
  }
  if (!isRedisClient(value)) invalid('cache.shared.redis', `${expected}, got ${describe(value)}`)
  if ((value as { isCluster?: unknown }).isCluster === true) {
    invalid('cache.shared.redis', 'Redis Cluster is not supported; give a client of one primary (or of Sentinel)')
  }
  if (typeof value.options?.keyPrefix === 'string' && value.options.keyPrefix !== '') {
    invalid('cache.shared.redis', 'a client with keyPrefix is not supported; use cache.shared.prefix')
  }
  return value
}

function resolveShared (value: unknown, cacheTtl: number): ResolvedSharedOptions | null {
  if (value === undefined) return null
  // A string here is most likely a URL, perhaps with a password: never repeated.
  const got = typeof value === 'string' ? 'a string' : describe(value)
  if (!isPlainObject(value)) invalid('cache.shared', `expected an object { redis, prefix?, ttl?, timeout?, lockTtl? }, got ${got}`)
  const known = new Set(['redis', 'prefix', 'ttl', 'timeout', 'lockTtl'])
  for (const key of Object.keys(value)) {
    if (!known.has(key)) invalid(`cache.shared.${key}`, `unknown option; expected one of ${[...known].join(', ')}`)
  }
  const { prefix = defaultSharedOptions.prefix } = value
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200) {
    invalid('cache.shared.prefix', `expected a non-empty string of at most 200 characters, got ${describe(prefix)}`)
  }
  return {
    redis: resolveRedis(value.redis),
    prefix,
    ttl: integer('cache.shared.ttl', value.ttl, cacheTtl, 0),
    timeout: integer('cache.shared.timeout', value.timeout, defaultSharedOptions.timeout, 1, 60_000),
    lockTtl: integer('cache.shared.lockTtl', value.lockTtl, defaultSharedOptions.lockTtl, 0, 600_000)
  }
}

function resolveRoute (name: string, value: unknown, defaultPath: string): ResolvedRoute {
  if (!isPlainObject(value)) invalid(name, `expected an object { path?, auth }, got ${describe(value)}`)
  for (const key of Object.keys(value)) {
    if (key !== 'path' && key !== 'auth') invalid(`${name}.${key}`, 'unknown option; expected path or auth')
  }
  const { path = defaultPath, auth } = value
  if (auth === undefined) invalid(`${name}.auth`, 'expected a function (request) => boolean; this route never exists unprotected')
  return { path: routePath(name, path), auth: authFunction(name, auth) }
}

function routePath (name: string, path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/')) invalid(`${name}.path`, `expected a path starting with "/", got ${describe(path)}`)
  return path
}

function authFunction (name: string, auth: unknown): SsrAuth {
  if (typeof auth !== 'function') invalid(`${name}.auth`, `expected a function (request) => boolean, got ${describe(auth)}`)
  return auth as SsrAuth
}

/** A registry is recognized by what the plugin calls on it, whichever copy of prom-client made it. */
function isRegistry (value: unknown): value is Registry {
  if (value === null || typeof value !== 'object') return false
  const registry = value as Record<string, unknown>
  return typeof registry.registerMetric === 'function' && typeof registry.removeSingleMetric === 'function' && typeof registry.metrics === 'function'
}

function resolveMetrics (value: unknown): ResolvedMetrics | null {
  if (value === undefined || value === false) return null
  if (!isPlainObject(value)) invalid('metrics', `expected false or an object { path?, auth?, port?, host?, registry? }, got ${describe(value)}`)
  const known = ['path', 'auth', 'port', 'host', 'registry']
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) invalid(`metrics.${key}`, `unknown option; expected one of ${known.join(', ')}`)
  }
  const { path = '/_ssr/metrics', auth, port, host = '127.0.0.1', registry } = value
  if (auth === undefined && port === undefined && registry === undefined) {
    invalid('metrics', 'expected auth (the route on the application\'s server, for requests it allows), port (a listener of its own on loopback) or registry (a prom-client registry of yours), or several; the route never exists unprotected')
  }
  if (registry !== undefined && !isRegistry(registry)) invalid('metrics.registry', `expected a prom-client Registry, got ${describe(registry)}`)
  if (typeof host !== 'string' || host === '') invalid('metrics.host', `expected an address to listen on, got ${describe(host)}`)
  return {
    path: routePath('metrics', path),
    auth: auth === undefined ? null : authFunction('metrics', auth),
    port: port === undefined ? null : integer('metrics.port', port, 0, 0, 65_535),
    host,
    registry: registry ?? null
  }
}

function resolveCompression (value: unknown): CompressionSettings | null {
  if (value === false) return null
  if (value === undefined) value = {}
  if (!isPlainObject(value)) invalid('compression', `expected false or an object, got ${describe(value)}`)
  for (const key of Object.keys(value)) {
    if (!(key in defaultCompression)) invalid(`compression.${key}`, 'unknown option; expected brotliQuality, gzipLevel or threshold')
  }
  return {
    brotliQuality: integer('compression.brotliQuality', value.brotliQuality, defaultCompression.brotliQuality, 0, 11),
    gzipLevel: integer('compression.gzipLevel', value.gzipLevel, defaultCompression.gzipLevel, 1, 9),
    threshold: integer('compression.threshold', value.threshold, defaultCompression.threshold, 0)
  }
}

const knownOptions = new Set(['bundle', 'renderFunction', 'threads', 'maxQueue', 'renderTimeout', 'globals', 'browserGlobals',
  'retryAfter', 'maxHeapMb', 'closeTimeout', 'startTimeout', 'maxRendersPerWorker', 'watch', 'pinThreads', 'cache', 'compression', 'metrics', 'purge'])

/** Checks every option once, at registration, and fills the defaults. Throws FST_SSR_INVALID_OPTION. */
export function normalizeOptions (options: unknown): ResolvedOptions {
  if (!isPlainObject(options)) invalid('options', `expected an object, got ${describe(options)}`)
  for (const key of Object.keys(options)) {
    // Fastify's own register options travel in the same object.
    if (!knownOptions.has(key) && key !== 'prefix' && key !== 'logLevel' && key !== 'logSerializers') {
      invalid(key, `unknown option; expected one of ${[...knownOptions].join(', ')}`)
    }
  }
  const { bundle, renderFunction = defaultOptions.renderFunction } = options
  if (typeof bundle !== 'string' || bundle.length === 0) {
    invalid('bundle', `expected the path of the server bundle, got ${describe(bundle)}`)
  }
  if (typeof renderFunction !== 'string' || !identifier.test(renderFunction)) {
    invalid('renderFunction', `expected a JavaScript identifier, got ${describe(renderFunction)}`)
  }
  return {
    bundle: resolve(bundle),
    renderFunction,
    threads: integer('threads', options.threads, availableParallelism(), 1, 256),
    maxQueue: integer('maxQueue', options.maxQueue, defaultOptions.maxQueue, 0),
    renderTimeout: integer('renderTimeout', options.renderTimeout, defaultOptions.renderTimeout, 1),
    globals: resolveGlobals(options.globals),
    browserGlobals: flag('browserGlobals', options.browserGlobals, false),
    retryAfter: options.retryAfter === undefined ? null : integer('retryAfter', options.retryAfter, 1, 1, 86_400),
    maxHeapMb: optionalPositive('maxHeapMb', options.maxHeapMb),
    closeTimeout: integer('closeTimeout', options.closeTimeout, defaultOptions.closeTimeout, 0),
    startTimeout: integer('startTimeout', options.startTimeout, defaultOptions.startTimeout, 1),
    maxRendersPerWorker: options.maxRendersPerWorker === undefined ? null : integer('maxRendersPerWorker', options.maxRendersPerWorker, 1, 1),
    watch: flag('watch', options.watch, false),
    pinThreads: flag('pinThreads', options.pinThreads, false),
    cache: resolveCache(options.cache),
    compression: resolveCompression(options.compression),
    metrics: resolveMetrics(options.metrics),
    purge: options.purge === undefined ? null : resolveRoute('purge', options.purge, '/_ssr/cache')
  }
}
