import type { PageRef } from './names'

/**
 * What the shared tier needs from a shared store, and nothing more: the tier's logic (tier.ts) is written against
 * this, and redis-store.ts implements it. Every call may reject with a SharedTierError (failures.ts); callers then
 * go on without the store.
 */

/** An invalidation as it crosses instances. `rest` is a key without its bundle version (see versionlessKey). */
export type InvalidationOp =
  | { type: 'key', rest: string }
  | { type: 'prefix', prefix: string }
  | { type: 'clear' }

/** The invalidation epoch: a decimal counter, '' before the first invalidation. */
export type Epoch = string

export type LookupResult =
  /** `ttlMs` is what Redis has left of the page's life; null when it never expires. */
  | { found: true, value: Buffer, ttlMs: number | null, epoch: Epoch }
  /** lock: 'taken' by this call, 'held' by another instance, 'none' when no lock was asked for. */
  | { found: false, lock: 'taken' | 'held' | 'none', epoch: Epoch }

export interface LockRequest {
  token: string
  ttlMs: number
}

export interface SharedStore {
  /** Whether the connection is up. */
  readonly connected: boolean
  /** Whether calls are made now (connected, and not pausing after failures); when false they fail at once. */
  readonly available: boolean
  /** The connection is ready again: failures before it no longer pause calls. */
  reconnected (): void
  /**
   * The page, or when there is none, an attempt to take its render lock, in one atomic step. `timeoutMs` bounds this
   * call (default: the store's timeout); a request's calls share one budget (see SharedTier.fetch).
   */
  lookup (ref: PageRef, lock: LockRequest | null, timeoutMs?: number): Promise<LookupResult>
  /**
   * Stores a rendered page for `ttlMs` (0: no expiry) unless an invalidation ran since `epoch`; releases the lock
   * `token` (if given) and wakes waiting instances either way. Resolves true if stored.
   */
  store (ref: PageRef, value: Buffer, ttlMs: number, epoch: Epoch, token: string | null): Promise<boolean>
  /** Releases a lock this instance holds and wakes waiting instances. */
  release (ref: PageRef, token: string): Promise<void>
  /** Extends a lock this instance holds; false if it no longer holds it. */
  extend (ref: PageRef, token: string, ttlMs: number): Promise<boolean>
  /** Deletes what `op` names in every bundle version and tells every instance; resolves the new epoch. */
  invalidate (op: InvalidationOp, origin: string): Promise<Epoch>
  /** The current epoch. */
  epoch (): Promise<Epoch>
}
