import LRUMapWithDelete from 'mnemonist/lru-map-with-delete'
import { compactForCold, expandForHot, type CacheEntry } from './entry'
import { freshness, type Freshness, type StaleWindows } from './freshness'

export type { CacheEntry } from './entry'

export type Tier = 'hot' | 'cold'

export interface TierLimits extends StaleWindows {
  hotEntries: number
  coldEntries: number
  coldMaxBytes: number
}

/** A page found by a lookup; only `fresh` ones count as hits. */
export interface Found {
  entry: CacheEntry
  tier: Tier
  freshness: Exclude<Freshness, 'expired'>
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

// mnemonist exposes no "pop least recent"; the byte bound needs it, so read the tail the same way setpop does.
// test/cache-tiers.test.ts pins this against the installed mnemonist.
function leastRecentKey<K, V> (lru: LRUMapWithDelete<K, V>): K | undefined {
  if (lru.size === 0) return undefined
  const internals = lru as unknown as { K: K[], tail: number }
  return internals.K[internals.tail]
}

/**
 * Two LRU tiers in the main thread. New pages enter the small hot tier; a page pushed out of hot moves to the
 * cold tier, in compact form (see compactForCold), while it fits its count and byte bounds; a cold hit promotes
 * the page back to hot. An entry lives in exactly one tier, so every page is counted once.
 */
export class TieredCache {
  readonly #hot: LRUMapWithDelete<string, CacheEntry>
  readonly #cold: LRUMapWithDelete<string, CacheEntry> | null
  readonly #coldMaxBytes: number
  readonly #now: () => number
  readonly #windows: StaleWindows
  #coldBytes = 0
  #hotBytes = 0
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
    this.#hot = new LRUMapWithDelete(limits.hotEntries)
    this.#cold = limits.coldEntries > 0 ? new LRUMapWithDelete(limits.coldEntries) : null
    this.#coldMaxBytes = limits.coldMaxBytes
    this.#now = now
    this.#windows = { staleWhileRevalidate: limits.staleWhileRevalidate, staleIfError: limits.staleIfError }
  }

  /** Largest page worth storing (in its cold form): one that could never fit the cold tier would only churn hot. */
  get maxEntryBytes (): number {
    return this.#coldMaxBytes
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
      this.#deleteHot(key, hot)
      this.counters.expired++
    } else {
      const cold = this.#cold?.peek(key)
      if (cold !== undefined) {
        this.#deleteCold(key, cold)
        const state = this.#freshness(cold)
        if (state !== 'expired') {
          // A stale page is promoted too: it is about to be served, and the hot tier holds pages ready to send.
          this.counters.promotions++
          const ready = expandForHot(cold)
          this.#putHot(ready)
          return this.#found(ready, 'cold', state)
        }
        this.counters.expired++
      }
    }
    this.counters.misses++
    return undefined
  }

  set (entry: CacheEntry): void {
    if (compactForCold(entry).bytes > this.#coldMaxBytes) return
    this.delete(entry.key)
    this.counters.insertions++
    this.#putHot(entry)
  }

  delete (key: string): boolean {
    const hot = this.#hot.peek(key)
    if (hot !== undefined) return this.#deleteHot(key, hot)
    const cold = this.#cold?.peek(key)
    return cold !== undefined && this.#deleteCold(key, cold)
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
      for (const [key, entry] of tier) if (selects(entry)) doomed.push(key)
      for (const key of doomed) if (this.delete(key)) removed++
    }
    return removed
  }

  clear (): number {
    const removed = this.#hot.size + (this.#cold?.size ?? 0)
    this.#hot.clear()
    this.#cold?.clear()
    this.#hotBytes = 0
    this.#coldBytes = 0
    return removed
  }

  stats () {
    return {
      hot: { entries: this.#hot.size, bytes: this.#hotBytes },
      cold: { entries: this.#cold?.size ?? 0, bytes: this.#coldBytes, maxBytes: this.#coldMaxBytes }
    }
  }

  #freshness (entry: CacheEntry): Freshness {
    return freshness(entry.expiresAt, this.#now(), this.#windows)
  }

  #found (entry: CacheEntry, tier: Tier, state: Found['freshness']): Found {
    if (state === 'fresh') this.counters.hits[tier]++
    else this.counters.misses++
    return { entry, tier, freshness: state }
  }

  #putHot (entry: CacheEntry): void {
    const evicted = this.#hot.setpop(entry.key, entry)
    this.#hotBytes += entry.bytes
    if (evicted === null) return
    this.#hotBytes -= evicted.value.bytes
    if (evicted.evicted) {
      this.counters.evictions.hot++
      if (this.#freshness(evicted.value) !== 'expired') this.#putCold(compactForCold(evicted.value))
    }
  }

  #putCold (entry: CacheEntry): void {
    if (this.#cold === null || entry.bytes > this.#coldMaxBytes) {
      this.counters.evictions.cold++
      return
    }
    const evicted = this.#cold.setpop(entry.key, entry)
    this.#coldBytes += entry.bytes
    if (evicted !== null) {
      this.#coldBytes -= evicted.value.bytes
      if (evicted.evicted) this.counters.evictions.cold++
    }
    while (this.#coldBytes > this.#coldMaxBytes) {
      const key = leastRecentKey(this.#cold) as string
      this.#deleteCold(key, this.#cold.peek(key) as CacheEntry)
      this.counters.evictions.cold++
    }
  }

  #deleteHot (key: string, entry: CacheEntry): boolean {
    this.#hot.delete(key)
    this.#hotBytes -= entry.bytes
    return true
  }

  #deleteCold (key: string, entry: CacheEntry): boolean {
    this.#cold?.delete(key)
    this.#coldBytes -= entry.bytes
    return true
  }
}
