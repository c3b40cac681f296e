import { LRUCache } from 'lru-cache'
import type { Bodies, PageHeaders } from '../page'
import { storeChannel, tracedSync } from '../tracing'
import { compactForCold, expandForHot, withBytes, type CacheEntry } from './entry'
import { freshness, type Freshness, type StaleWindows } from './freshness'

export type { CacheEntry } from './entry'

export type Tier = 'hot' | 'cold'

export interface TierLimits extends StaleWindows {
  hotEntries: number
  /** Bytes the hot tier may hold, every byte of every entry counted (see entryBytes). */
  hotMaxBytes: number
  coldEntries: number
  /** Bytes the cold tier may hold, in the compact form it keeps entries in. */
  coldMaxBytes: number
}

/** A page found by a lookup; only `fresh` ones count as hits. */
export interface Found {
  entry: CacheEntry
  tier: Tier
  freshness: Exclude<Freshness, 'expired'>
}

/** Entries, bytes and byte bound of each tier, as they are now. */
export interface TierStats {
  hot: { entries: number, bytes: number, maxBytes: number }
  cold: { entries: number, bytes: number, maxBytes: number }
}

export interface CacheCounters {
  lookups: number
  hits: { hot: number, cold: number }
  misses: number
  expired: number
  promotions: number
  insertions: number
  evictions: { hot: number, cold: number }
}

type Lru = LRUCache<string, CacheEntry>

/**
 * Two LRU tiers in the main thread, each bounded by entries and by bytes (lru-cache's `max` and `maxSize`, with an
 * entry's `bytes` as its size: the library keeps the totals and evicts, so no count is kept by hand here). New
 * pages enter the hot tier; a page pushed out of hot moves to the cold tier, in compact form (see compactForCold),
 * if that form fits; a cold hit promotes the page back to hot. An entry lives in exactly one tier, so every page is
 * counted once, and the cache never holds more than `hotMaxBytes + coldMaxBytes`.
 */
export class TieredCache {
  readonly #hot: Lru
  readonly #cold: Lru | null
  readonly #limits: TierLimits
  readonly #now: () => number
  readonly counters: CacheCounters = {
    lookups: 0,
    hits: { hot: 0, cold: 0 },
    misses: 0,
    expired: 0,
    promotions: 0,
    insertions: 0,
    evictions: { hot: 0, cold: 0 }
  }

  constructor (limits: TierLimits, now: () => number = Date.now) {
    this.#limits = limits
    this.#now = now
    this.#hot = new LRUCache<string, CacheEntry>({
      max: limits.hotEntries,
      maxSize: limits.hotMaxBytes,
      sizeCalculation: (entry) => entry.bytes,
      // After the set that pushed it out has finished, so the demotion never runs inside the library's own update.
      disposeAfter: (entry, _key, reason) => {
        if (reason !== 'evict') return
        this.counters.evictions.hot++
        if (this.#freshness(entry) !== 'expired') this.#putCold(compactForCold(entry))
      }
    })
    // lru-cache reads a maxSize of 0 as "no byte bound": a cold tier of 0 bytes is no cold tier.
    this.#cold = limits.coldEntries > 0 && limits.coldMaxBytes > 0
      ? new LRUCache<string, CacheEntry>({
        max: limits.coldEntries,
        maxSize: limits.coldMaxBytes,
        sizeCalculation: (entry) => entry.bytes,
        dispose: (_entry, _key, reason) => { if (reason === 'evict') this.counters.evictions.cold++ }
      })
      : null
  }

  /**
   * The page under `key` while it may still be served: fresh (a hit), or past its TTL but within a stale window (a
   * miss the caller may answer from it, see freshness.ts). A page past every window is dropped.
   */
  get (key: string): Found | undefined {
    this.counters.lookups++
    const hot = this.#hot.get(key)
    if (hot !== undefined) {
      const state = this.#freshness(hot)
      if (state !== 'expired') return this.#found(hot, 'hot', state)
      this.#hot.delete(key)
      this.counters.expired++
    } else {
      const cold = this.#cold?.peek(key)
      if (cold !== undefined) {
        this.#cold?.delete(key)
        const state = this.#freshness(cold)
        if (state !== 'expired') {
          // A stale page is promoted too: it is about to be served, and the hot tier holds pages ready to send.
          this.counters.promotions++
          const ready = expandForHot(cold)
          // Its identity bytes may make it too large for hot again: served this once, then left to a new render.
          if (ready.bytes <= this.#limits.hotMaxBytes) this.#hot.set(key, ready)
          return this.#found(ready, 'cold', state)
        }
        this.counters.expired++
      }
    }
    this.counters.misses++
    return undefined
  }

  /**
   * Stores a page, replacing any older one of its key. A page that fits neither bound is not stored, and the older
   * page is dropped all the same: it is no longer what the application renders. That is a page larger than
   * `hotMaxBytes`, or (with a cold tier) one whose compact form is larger than `coldMaxBytes`: it could never be
   * kept cold, so it would only push other pages out of hot.
   */
  set (entry: CacheEntry): void {
    this.delete(entry.key)
    if (!this.#fits(entry)) return
    this.counters.insertions++
    this.#hot.set(entry.key, entry)
  }

  delete (key: string): boolean {
    return this.#hot.delete(key) || (this.#cold?.delete(key) ?? false)
  }

  /** Removes every page whose URL starts with `prefix`; returns how many. */
  deletePrefix (prefix: string): number {
    return this.deleteWhere((entry) => entry.url.startsWith(prefix))
  }

  /** Removes every page the predicate selects, from both tiers; returns how many. */
  deleteWhere (selects: (entry: CacheEntry) => boolean): number {
    let removed = 0
    for (const tier of [this.#hot, this.#cold]) {
      if (tier === null) continue
      const doomed: string[] = []
      for (const [key, entry] of tier.entries()) if (selects(entry)) doomed.push(key)
      for (const key of doomed) if (tier.delete(key)) removed++
    }
    return removed
  }

  clear (): number {
    const removed = this.#hot.size + (this.#cold?.size ?? 0)
    this.#hot.clear()
    this.#cold?.clear()
    return removed
  }

  stats (): TierStats {
    return {
      hot: { entries: this.#hot.size, bytes: this.#hot.calculatedSize, maxBytes: this.#limits.hotMaxBytes },
      cold: { entries: this.#cold?.size ?? 0, bytes: this.#cold?.calculatedSize ?? 0, maxBytes: this.#limits.coldMaxBytes }
    }
  }

  #fits (entry: CacheEntry): boolean {
    if (entry.bytes > this.#limits.hotMaxBytes) return false
    return this.#cold === null || compactForCold(entry).bytes <= this.#limits.coldMaxBytes
  }

  #freshness (entry: CacheEntry): Freshness {
    return freshness(entry.expiresAt, this.#now(), this.#limits)
  }

  #found (entry: CacheEntry, tier: Tier, state: Found['freshness']): Found {
    if (state === 'fresh') this.counters.hits[tier]++
    else this.counters.misses++
    return { entry, tier, freshness: state }
  }

  #putCold (entry: CacheEntry): void {
    if (this.#cold === null || entry.bytes > this.#limits.coldMaxBytes) {
      this.counters.evictions.cold++
      return
    }
    this.#cold.set(entry.key, entry)
  }
}

/** A rendered page as the store takes it: its TTL decided from what the render said (null: not storable). */
export interface RenderedForStore {
  status: number
  headers: PageHeaders
  bodies: Bodies
  etag: string
  renderedAt: number
  ttl: number | null
  /** For a page read from Redis: what it had left of its life there (ms; null: no expiry). */
  ttlMs?: number | null
}

/**
 * Keeps a rendered page. A storable one replaces the entry, for its TTL (a page from Redis no longer than it had
 * left there). Any other answer but a 5xx (a 404, a private page) removes the entry, so that a stale copy is not
 * served instead of what the application now says; a 5xx leaves it in place, as a failure staleIfError may cover.
 */
export function storeRendered (cache: TieredCache, key: string, url: string, page: RenderedForStore, now: number): void {
  const { ttl } = page
  if (ttl === null) {
    if (page.status < 500) cache.delete(key)
    return
  }
  const { status, headers, bodies, etag, renderedAt } = page
  const expiresAt = now + Math.min(page.ttlMs ?? Infinity, ttl === 0 ? Infinity : ttl * 1000)
  const entry = withBytes({ key, url, status, headers, bodies, etag, expiresAt, renderedAt })
  tracedSync(storeChannel, () => ({ tier: 'local' as const, url, key, bytes: entry.bytes }), () => cache.set(entry))
}
