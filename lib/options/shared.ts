import type { Redis } from 'ioredis'
import type { ResolvedSharedOptions } from '../cache/shared/settings'
import { describe, integer, invalid, isPlainObject } from './check'

export type { ResolvedSharedOptions } from '../cache/shared/settings'

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

export const defaultSharedOptions = Object.freeze({
  prefix: 'ssr:',
  timeout: 200,
  lockTtl: 2000
})

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

export function resolveShared (value: unknown, cacheTtl: number): ResolvedSharedOptions | null {
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
