import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { FST_SSR_INVALID_OPTION } from './errors'

/** Options of the cache tiers (see the README's "Cache" section). */
export interface SsrCacheOptions {
  /** Entries in the hot tier of ready-to-send pages. Default 128. */
  hotEntries?: number
  /** Entries in the cold tier. Default 1000. */
  coldEntries?: number
  /** Bytes the cold tier may hold, counting every byte of every entry. Default 64 MiB. */
  coldMaxBytes?: number
  /** Seconds a page stays fresh after it was rendered; 0 keeps it until evicted. Default 300. */
  ttl?: number
  /**
   * Query parameters that enter the cache key and reach the render; others are dropped from both,
   * so `?utm_source=` or cache-busters cannot multiply entries. Default: every parameter.
   */
  query?: string[]
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
  /** Fixed Retry-After seconds on 503; by default derived from the measured queue wait. */
  retryAfter?: number
  /** Heap limit of each worker in MiB (worker `resourceLimits.maxOldGenerationSizeMb`). Default: Node's. */
  maxHeapMb?: number
  /** Milliseconds `close()` lets in-flight renders finish before stopping them. Default 10000. */
  closeTimeout?: number
  /** Page cache options, or `false` to render every request. */
  cache?: SsrCacheOptions | false
}

export interface ResolvedCacheOptions {
  hotEntries: number
  coldEntries: number
  coldMaxBytes: number
  ttl: number
  query: ReadonlySet<string> | null
}

export interface ResolvedOptions {
  bundle: string
  renderFunction: string
  threads: number
  maxQueue: number
  renderTimeout: number
  globals: Record<string, unknown>
  retryAfter: number | null
  maxHeapMb: number | null
  closeTimeout: number
  cache: ResolvedCacheOptions | null
}

export const defaultCacheOptions = Object.freeze({
  hotEntries: 128,
  coldEntries: 1000,
  coldMaxBytes: 64 * 1024 * 1024,
  ttl: 300
})

export const defaultOptions = Object.freeze({
  renderFunction: 'renderPage',
  maxQueue: 512,
  renderTimeout: 10_000,
  closeTimeout: 10_000
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

function resolveCache (value: unknown): ResolvedCacheOptions | null {
  if (value === false) return null
  if (value === undefined) value = {}
  if (!isPlainObject(value)) invalid('cache', `expected false or an object, got ${describe(value)}`)
  const known = new Set(['hotEntries', 'coldEntries', 'coldMaxBytes', 'ttl', 'query'])
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
  return {
    hotEntries: integer('cache.hotEntries', value.hotEntries, defaultCacheOptions.hotEntries, 1),
    coldEntries: integer('cache.coldEntries', value.coldEntries, defaultCacheOptions.coldEntries, 0),
    coldMaxBytes: integer('cache.coldMaxBytes', value.coldMaxBytes, defaultCacheOptions.coldMaxBytes, 0),
    ttl: integer('cache.ttl', value.ttl, defaultCacheOptions.ttl, 0),
    query
  }
}

const knownOptions = new Set(['bundle', 'renderFunction', 'threads', 'maxQueue', 'renderTimeout', 'globals',
  'retryAfter', 'maxHeapMb', 'closeTimeout', 'cache'])

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
    retryAfter: options.retryAfter === undefined ? null : integer('retryAfter', options.retryAfter, 1, 1, 86_400),
    maxHeapMb: optionalPositive('maxHeapMb', options.maxHeapMb),
    closeTimeout: integer('closeTimeout', options.closeTimeout, defaultOptions.closeTimeout, 0),
    cache: resolveCache(options.cache)
  }
}
