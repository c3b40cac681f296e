import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import type { CompressionSettings } from '../render/encode'
import { defaultSpinUs } from '../render/handoff'
import { resolveCache, type ResolvedCacheOptions, type SsrCacheOptions } from './cache'
import { describe, flag, integer, invalid, isPlainObject, optionalPositive } from './check'
import { resolveMetrics, resolveRoute, type ResolvedMetrics, type ResolvedRoute, type SsrMetricsOptions, type SsrPurgeOptions } from './routes'

export type { SsrAuth, SsrMetricsOptions, SsrPurgeOptions, ResolvedRoute, ResolvedMetrics } from './routes'
export type { SsrCacheOptions, ResolvedCacheOptions } from './cache'
export { defaultCacheOptions, defaultIgnoreQuery, resolveVary } from './cache'
export type { SsrSharedCacheOptions, ResolvedSharedOptions } from './shared'
export { defaultSharedOptions } from './shared'

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
  /**
   * Worker threads that render. Default `os.availableParallelism()`. `0` renders in the main thread, in the same
   * kind of sandbox: for a server with one CPU, where a worker can only take turns with the main thread and each
   * hand-over costs more than a short render. It gives up what a worker gives: a render that never returns holds
   * the whole server, one past its deadline is answered with 504 but not stopped, and the bundle shares the server's
   * heap (so `maxHeapMb`, `maxRendersPerWorker` and `pinThreads` do not apply, and are refused).
   */
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
  /**
   * How long, in microseconds, each side of a hand-over between threads polls before it lets its thread sleep: a
   * worker that has replied, for its next task; the main thread, for a reply due within that time (it keeps serving
   * I/O meanwhile). Waking a sleeping thread costs tens of µs of CPU on virtual machines, more than a short render;
   * polling costs the µs it lasts, and only while renders are shorter than the window. 0 turns it off. Default: 50
   * when the process may use more CPUs than `threads` (each polling thread has a CPU of its own), else 0: a thread
   * that polls on a CPU the other side needs only delays it.
   */
  handoffSpinUs?: number
  /** Page cache options, or `false` to render every request. */
  cache?: SsrCacheOptions | false
  /** Compression of cached pages (br and gzip, made once in the worker), or `false` to send them uncompressed. */
  compression?: SsrCompressionOptions | false
  /** The metrics route, behind `auth` and/or on a loopback listener of its own (`port`). Absent unless given. */
  metrics?: SsrMetricsOptions | false
  /** The purge route; absent by default. */
  purge?: SsrPurgeOptions
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
  handoffSpinUs: number
  cache: ResolvedCacheOptions | null
  compression: CompressionSettings | null
  metrics: ResolvedMetrics | null
  purge: ResolvedRoute | null
}

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

const identifier = /^[A-Za-z_$][\w$]*$/

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
  'retryAfter', 'maxHeapMb', 'closeTimeout', 'startTimeout', 'maxRendersPerWorker', 'watch', 'pinThreads', 'handoffSpinUs', 'cache', 'compression', 'metrics', 'purge'])

/** Options about worker threads mean nothing without them: refused with `threads: 0`, rather than ignored. */
function refuseWithoutWorkers (options: Record<string, unknown>): void {
  for (const name of ['maxHeapMb', 'maxRendersPerWorker', 'pinThreads']) {
    const value = options[name]
    if (value !== undefined && value !== false) invalid(name, 'not with threads: 0 (the bundle renders in the main thread, with no worker to limit, recycle or pin)')
  }
}

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
  const threads = integer('threads', options.threads, availableParallelism(), 0, 256)
  if (threads === 0) refuseWithoutWorkers(options)
  return {
    bundle: resolve(bundle),
    renderFunction,
    threads,
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
    handoffSpinUs: integer('handoffSpinUs', options.handoffSpinUs, threads === 0 ? 0 : defaultSpinUs(threads), 0, 10_000),
    cache: resolveCache(options.cache),
    compression: resolveCompression(options.compression),
    metrics: resolveMetrics(options.metrics),
    purge: options.purge === undefined ? null : resolveRoute('purge', options.purge, '/_ssr/cache')
  }
}
