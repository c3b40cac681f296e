/**
 * How a cached page ages, after RFC 5861. A page is fresh until its TTL ends. Then two windows open, both counted
 * from that moment:
 * - `staleWhileRevalidate` seconds in which it is served at once, while one background render replaces it;
 * - `staleIfError` seconds in which it is kept in reserve: requests wait for a new render as on a miss, and get the
 *   old page only when that render fails.
 * Past both, it is gone. With both windows at 0 (the default) a page is dropped the moment its TTL ends.
 */

/** The two windows, in seconds; absent means 0. */
export interface StaleWindows {
  staleWhileRevalidate?: number
  staleIfError?: number
}

/**
 * - fresh: before the TTL ends.
 * - stale: within `staleWhileRevalidate`: serve it now, refresh it in the background.
 * - reserve: past that but within `staleIfError`: render, and serve it only if the render fails.
 * - expired: past both windows; never served.
 */
export type Freshness = 'fresh' | 'stale' | 'reserve' | 'expired'

function ms (seconds: number | undefined): number {
  return (seconds ?? 0) * 1000
}

export function freshness (expiresAt: number, now: number, windows: StaleWindows): Freshness {
  if (now < expiresAt) return 'fresh'
  const pastTtl = now - expiresAt
  if (pastTtl < ms(windows.staleWhileRevalidate)) return 'stale'
  if (pastTtl < ms(windows.staleIfError)) return 'reserve'
  return 'expired'
}

/** Whether a page may stand in for one that could not be rendered now: fresh, or within `staleIfError`. */
export function servableOnError (expiresAt: number, now: number, windows: StaleWindows): boolean {
  return now - expiresAt < ms(windows.staleIfError)
}
