import type { Flights } from './flights'
import { isKeyOfVersion } from './key'
import type { TieredCache } from './tiers'

/** What a purge sends to the other instances: the shared tier (shared/shared-tier.ts), when there is one. */
export interface PurgeBus {
  invalidateKey (key: string): void
  invalidatePrefix (prefix: string): void
  clear (): void
}

/**
 * What a purge reaches: the local tiers, the renders in flight (whose pages are then sent but not stored), and,
 * through the shared tier, Redis and every other instance. The `drop*` methods act locally only: they are also what
 * the other instances' purges, received from Redis, run here.
 */
export class Purges {
  readonly #cache: TieredCache | null
  readonly #flights: Flights<unknown>
  /** Set once the engine has stored a key with cache.vary values: purges then look for variants. */
  varied = false
  bus: PurgeBus | null = null

  constructor (cache: TieredCache | null, flights: Flights<unknown>) {
    this.#cache = cache
    this.#flights = flights
  }

  /** The page of `key` in every variant cache.vary made of it, here and everywhere; `url` reaches Redis' variants. */
  page (key: string, url: string): boolean {
    this.bus?.invalidateKey(key)
    // Redis names pages by a hash of the whole key, so the variants other instances stored there are reached by the
    // URL: a prefix purge, which may also drop pages under longer URLs (they are rendered again, nothing worse).
    if (this.varied) this.bus?.invalidatePrefix(url)
    let removed = this.dropKey(key)
    if (!this.varied) return removed
    // Variant keys are `key` + NUL + name=value…; no other key starts so (see cache/vary.ts).
    const prefix = `${key}\u0000`
    this.#flights.discard((flight) => flight.key.startsWith(prefix))
    if ((this.#cache?.deleteWhere((entry) => entry.key.startsWith(prefix)) ?? 0) > 0) removed = true
    return removed
  }

  /** One exact key (a route's own `{ key }`), here and everywhere. */
  key (key: string): boolean {
    this.bus?.invalidateKey(key)
    return this.dropKey(key)
  }

  prefix (prefix: string): number {
    this.bus?.invalidatePrefix(prefix)
    return this.dropPrefix(prefix)
  }

  clear (): number {
    this.bus?.clear()
    return this.dropAll()
  }

  dropKey (key: string): boolean {
    this.#flights.discardKey(key)
    return this.#cache?.delete(key) ?? false
  }

  dropPrefix (prefix: string): number {
    this.#flights.discard((flight) => flight.url.startsWith(prefix))
    return this.#cache?.deletePrefix(prefix) ?? 0
  }

  dropAll (): number {
    this.#flights.discard(() => true)
    return this.#cache?.clear() ?? 0
  }

  /**
   * A reload switched bundles. Renders of the old one still in flight are not stored, and its pages are dropped:
   * their keys carry its version, so they could never be served again, only take room.
   */
  dropOtherVersions (version: string): void {
    this.#flights.discard(() => true)
    this.#cache?.deleteWhere((entry) => !isKeyOfVersion(entry.key, version))
  }
}
