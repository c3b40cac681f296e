import type { PageHeaders } from '../page'

/**
 * The one place that decides whether a rendered page may be stored and shared, for how long, and what it tells the
 * caches downstream (browsers, CDNs, nginx) about it.
 */

/** What a page's own render says of it, and what the cache options add. */
export interface StorePolicy {
  /** Seconds a stored 200 stays fresh; 0 keeps it until evicted. */
  ttl: number
  /** Other statuses that are stored (negative caching, `cache.statusTtl`), with their own TTL in seconds. */
  statusTtl: ReadonlyMap<number, number>
  staleWhileRevalidate: number
  staleIfError: number
  /** `cache.control`: 'default', 'shared', a fixed value, or a function of the page. */
  control: CacheControlPolicy
}

/** The page a `cache.control` function is asked about. */
export interface CacheControlPage {
  url: string
  status: number
  headers: PageHeaders
}

export type CacheControlPolicy = 'default' | 'shared' | { value: string } | ((page: CacheControlPage) => string)

/** What a stored page tells browsers by default: revalidate every time (with the ETag, so mostly 304s). */
export const defaultCacheControl = 'public, max-age=0, must-revalidate'
/** What a page that is never stored tells everyone, unless its render said otherwise. */
export const uncachedCacheControl = 'private, no-store'

const privateDirective = /(^|[\s,])(private|no-store)([\s,=]|$)/i

/**
 * Seconds `status`/`headers` may be stored for (0: until evicted), or null when the page must not be stored: a
 * status other than 200 and those of `statusTtl`, a Set-Cookie, or a Cache-Control of private or no-store, which say
 * the page belongs to one user.
 */
export function storeTtl (status: number, headers: PageHeaders, policy: Pick<StorePolicy, 'ttl' | 'statusTtl'>): number | null {
  const ttl = status === 200 ? policy.ttl : policy.statusTtl.get(status)
  if (ttl === undefined) return null
  if (headers['set-cookie'] !== undefined) return null
  const cacheControl = headers['cache-control']
  if (cacheControl !== undefined && privateDirective.test(String(cacheControl))) return null
  return ttl
}

/** The Cache-Control a stored page gets when its render set none. */
export function storedCacheControl (page: CacheControlPage, ttl: number, policy: StorePolicy, varyByCookie: boolean): string {
  const { control } = policy
  if (typeof control === 'function') return control(page)
  if (typeof control === 'object') return control.value
  // A page that varies by a cookie must not sit in a shared cache, which cannot tell one cookie value from another.
  if (varyByCookie) return 'private, max-age=0, must-revalidate'
  if (control === 'default') return defaultCacheControl
  // 'shared': for a CDN whose purges you drive yourself; it may keep the page as long as this cache does.
  const directives = ['public', 'max-age=0']
  if (ttl > 0) directives.push(`s-maxage=${ttl}`)
  if (policy.staleWhileRevalidate > 0) directives.push(`stale-while-revalidate=${policy.staleWhileRevalidate}`)
  if (policy.staleIfError > 0) directives.push(`stale-if-error=${policy.staleIfError}`)
  return directives.join(', ')
}

/** What cache.vary made a page vary by, for the headers that say so. */
export interface PageVary {
  /** The Vary header value for these names (cookies are all `cookie`), or null. */
  header: string | null
  byCookie: boolean
}

/**
 * The headers that tell caches downstream how to treat a page, added where its render set none: a stored page gets
 * the policy's Cache-Control, Last-Modified (its render time) and the Vary of cache.vary; a page that is never
 * stored gets `private, no-store`. Returns the headers to send and store, and the page's TTL (null: not stored).
 */
export function withCacheHeaders (page: CacheControlPage, renderedAt: number, vary: PageVary, policy: StorePolicy): { headers: PageHeaders, ttl: number | null } {
  const ttl = storeTtl(page.status, page.headers, policy)
  const headers: PageHeaders = { ...page.headers }
  if (vary.header !== null) headers.vary = headers.vary === undefined ? vary.header : `${String(headers.vary)}, ${vary.header}`
  if (ttl === null) {
    headers['cache-control'] ??= uncachedCacheControl
    return { headers, ttl }
  }
  headers['cache-control'] ??= storedCacheControl(page, ttl, policy, vary.byCookie)
  headers['last-modified'] ??= new Date(renderedAt).toUTCString()
  return { headers, ttl }
}
