import type { SharedSnapshot } from '../cache/shared/shared-tier'
import type { CacheCounters, TierStats } from '../cache/tiers'
import type { PoolStats } from '../render/pool'
import type { RenderCounters } from '../render/renderer'
import type { LatencyHistogram, LatencySummary } from './histogram'

/**
 * The JSON view of every counter, latency and size (`app.ssr.metrics()`, the metrics route). Counters keep the
 * names they have here wherever they are counted (RenderCounters, FlightCounters, the tiers' CacheCounters), and the
 * Prometheus catalogue (catalog.ts) reads its metrics from this shape: one vocabulary, three views.
 */

/** What the engine counts of renders it shares and pages it serves stale. */
export interface FlightCounters {
  /** Misses that waited for a render already in flight instead of starting one. */
  coalesced: number
  /** Responses served from a page past its TTL: within staleWhileRevalidate, or within staleIfError on a failure. */
  stale: { revalidate: number, error: number }
  /** Background renders started to refresh a stale page, and those that failed (error, timeout, 5xx, refused). */
  refreshes: number
  refreshFailures: number
}

export function newFlightCounters (): FlightCounters {
  return { coalesced: 0, stale: { revalidate: 0, error: 0 }, refreshes: 0, refreshFailures: 0 }
}

export interface CacheSnapshot extends CacheCounters, FlightCounters {
  /** Hits over lookups, 0 to 1. */
  hitRate: number
  entries: { hot: number, cold: number }
  bytes: { hot: number, cold: number }
  /** Byte bounds of the tiers (see the cache options): the cache never holds more than their sum. */
  hotMaxBytes: number
  coldMaxBytes: number
  /** The shared Redis tier, when `cache.shared` is set. */
  shared: SharedSnapshot | null
}

/** The bundle serving: path, content hash, and when it was loaded (ISO 8601). */
export interface BundleInfo {
  path: string
  version: string
  loadedAt: string
}

export interface EngineSnapshot {
  cache: CacheSnapshot | null
  renders: RenderCounters & {
    workerRestarts: number
    durationMs: LatencySummary
    queueWaitMs: LatencySummary
  }
  pool: { threads: number, busyThreads: number, utilization: number, queueSize: number, queueCapacity: number }
  bundle: BundleInfo & { reloads: { succeeded: number, failed: number } }
}

/** Where a snapshot's figures come from. */
export interface SnapshotSources {
  cache: { counters: CacheCounters, stats (): TierStats } | null
  shared: { snapshot (): SharedSnapshot } | null
  flights: FlightCounters
  renders: RenderCounters
  latency: { render: LatencyHistogram, queueWait: LatencyHistogram }
  pool: PoolStats
  maxQueue: number
  bundle: BundleInfo & { reloads: { succeeded: number, failed: number } }
}

export function snapshotOf (sources: SnapshotSources): EngineSnapshot {
  const { cache, flights, pool } = sources
  let cacheSnapshot: CacheSnapshot | null = null
  if (cache !== null) {
    const { counters } = cache
    const tiers = cache.stats()
    cacheSnapshot = {
      ...structuredClone(counters),
      ...structuredClone(flights),
      hitRate: counters.lookups === 0 ? 0 : (counters.hits.hot + counters.hits.cold) / counters.lookups,
      entries: { hot: tiers.hot.entries, cold: tiers.cold.entries },
      bytes: { hot: tiers.hot.bytes, cold: tiers.cold.bytes },
      hotMaxBytes: tiers.hot.maxBytes,
      coldMaxBytes: tiers.cold.maxBytes,
      shared: sources.shared?.snapshot() ?? null
    }
  }
  return {
    cache: cacheSnapshot,
    renders: {
      ...sources.renders,
      workerRestarts: pool.workerRestarts,
      durationMs: sources.latency.render.summary(),
      queueWaitMs: sources.latency.queueWait.summary()
    },
    pool: {
      threads: pool.threads,
      busyThreads: pool.busyThreads,
      utilization: pool.utilization,
      queueSize: pool.queueSize,
      queueCapacity: sources.maxQueue
    },
    bundle: { ...sources.bundle, reloads: { ...sources.bundle.reloads } }
  }
}
