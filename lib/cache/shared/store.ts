import type { PageRef } from './names'

/**
 * What the shared tier needs from a shared store, and nothing more: the tier's logic (shared-tier.ts) is written
 * against this, redis-store.ts implements it on Redis, and test/helpers/memory-store.ts in memory, so the protocol
 * is tested without Redis. Every call may reject with a SharedTierError (failures.ts); callers then go on without
 * the store.
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

/** What a store tells the tier about its connection. */
export interface StoreEvents {
  /** Connected, at start or again: calls are made, and failures before it no longer pause them. */
  ready (): void
  /** The connection closed: calls fail at once until `ready`. */
  closed (): void
  /** A call succeeded after a run of failed ones. */
  recovered (): void
}

/** Calls that gave no answer, by why (the metrics' `shared.errors`). */
export interface FailureCounts {
  timeouts: number
  errors: number
  unavailable: number
}

export interface SharedStore {
  /** Whether the connection is up. */
  readonly connected: boolean
  /** Whether calls are made now (connected, and not pausing after failures); when false they fail at once. */
  readonly available: boolean
  readonly failures: Readonly<FailureCounts>
  /** Starts connecting (if not connected already); `events` hear from now on, through every reconnect. */
  open (events: StoreEvents): void
  /** Closes what the store opened (a connection the application gave stays open); calls fail from now on. */
  close (): void
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
