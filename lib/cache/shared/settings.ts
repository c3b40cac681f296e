import type { Redis } from 'ioredis'

/**
 * What the shared tier runs with, resolved and checked (options/shared.ts turns the user's `cache.shared` into it).
 * Declared here, with the tier, so that the tier depends on nothing above it.
 */
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
