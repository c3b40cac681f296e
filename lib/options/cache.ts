import { ignoredQuery, type IgnoredQuery } from '../cache/key'
import type { CacheControlPage, CacheControlPolicy } from '../cache/policy'
import { mergeVary, parseVaryName, type VaryName } from '../cache/vary'
import { describe, integer, invalid, isPlainObject, nameList } from './check'
import { resolveShared, type ResolvedSharedOptions, type SsrSharedCacheOptions } from './shared'

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

export const defaultCacheOptions = Object.freeze({
  hotEntries: 128,
  hotMaxBytes: 32 * 1024 * 1024,
  coldEntries: 1000,
  coldMaxBytes: 64 * 1024 * 1024,
  ttl: 300,
  staleWhileRevalidate: 0,
  staleIfError: 0
})

/** Most entries a tier may be given. */
const maxEntries = 1_000_000

export function resolveCache (value: unknown): ResolvedCacheOptions | null {
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
