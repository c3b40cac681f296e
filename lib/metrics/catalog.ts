import type { EngineSnapshot } from './snapshot'

/**
 * Every Prometheus metric the plugin exports, declared once: name, help, type, labels, and the JSON snapshot field it
 * is read from (`app.ssr.metrics()`), so the two views cannot drift apart. Conventions: `_total` counters, base
 * units (seconds, bytes), a label per tier or outcome and never per URL, so the number of series stays fixed.
 */

type Labels = Record<string, string>
export type Sample = [Labels | undefined, number]

export interface ValueMetric {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labelNames?: readonly string[]
  /** Which part of the snapshot it needs: cache metrics exist only with a cache, shared ones with a shared tier. */
  part: 'core' | 'cache' | 'shared'
  samples: (snapshot: EngineSnapshot) => Sample[]
}

export interface HistogramMetric {
  name: string
  help: string
  /** Which of the engine's latency histograms it observes. */
  latency: 'render' | 'queueWait'
}

type Cache = NonNullable<EngineSnapshot['cache']>
type Shared = NonNullable<Cache['shared']>

const one = (value: number): Sample[] => [[undefined, value]]
const tiers = (pair: { hot: number, cold: number }): Sample[] => [[{ tier: 'hot' }, pair.hot], [{ tier: 'cold' }, pair.cold]]

function cache (name: string, type: ValueMetric['type'], help: string, samples: (cache: Cache) => Sample[], labelNames?: string[]): ValueMetric {
  return { name, type, help, part: 'cache', labelNames, samples: (snapshot) => samples(snapshot.cache as Cache) }
}

function shared (name: string, type: ValueMetric['type'], help: string, samples: (shared: Shared) => Sample[], labelNames?: string[]): ValueMetric {
  return { name, type, help, part: 'shared', labelNames, samples: (snapshot) => samples(snapshot.cache?.shared as Shared) }
}

function core (name: string, type: ValueMetric['type'], help: string, samples: (snapshot: EngineSnapshot) => Sample[], labelNames?: string[]): ValueMetric {
  return { name, type, help, part: 'core', labelNames, samples }
}

export const valueMetrics: readonly ValueMetric[] = [
  cache('ssr_cache_lookups_total', 'counter', 'Page cache lookups.', (c) => one(c.lookups)),
  cache('ssr_cache_hits_total', 'counter', 'Page cache hits, by tier.', (c) => tiers(c.hits), ['tier']),
  cache('ssr_cache_misses_total', 'counter', 'Page cache misses (including expired entries).', (c) => one(c.misses)),
  cache('ssr_cache_coalesced_total', 'counter', 'Misses that waited for a render already in flight.', (c) => one(c.coalesced)),
  cache('ssr_cache_promotions_total', 'counter', 'Cold hits promoted to the hot tier.', (c) => one(c.promotions)),
  cache('ssr_cache_insertions_total', 'counter', 'Rendered pages stored.', (c) => one(c.insertions)),
  cache('ssr_cache_expired_total', 'counter', 'Entries found past their TTL and stale windows, and dropped.', (c) => one(c.expired)),
  cache('ssr_cache_stale_served_total', 'counter', 'Responses served from a page past its TTL, by window: revalidate (staleWhileRevalidate) or error (staleIfError).',
    (c) => [[{ reason: 'revalidate' }, c.stale.revalidate], [{ reason: 'error' }, c.stale.error]], ['reason']),
  cache('ssr_cache_refreshes_total', 'counter', 'Background renders started to refresh a stale page.', (c) => one(c.refreshes)),
  cache('ssr_cache_refresh_failures_total', 'counter', 'Background refreshes that failed, timed out, answered 5xx or were refused.', (c) => one(c.refreshFailures)),
  cache('ssr_cache_evictions_total', 'counter', 'Entries pushed out of a tier by its bounds.', (c) => tiers(c.evictions), ['tier']),
  cache('ssr_cache_entries', 'gauge', 'Entries held, by tier.', (c) => tiers(c.entries), ['tier']),
  cache('ssr_cache_bytes', 'gauge', 'Bytes held, by tier.', (c) => tiers(c.bytes), ['tier']),
  cache('ssr_cache_hot_max_bytes', 'gauge', 'Byte bound of the hot tier.', (c) => one(c.hotMaxBytes)),
  cache('ssr_cache_cold_max_bytes', 'gauge', 'Byte bound of the cold tier.', (c) => one(c.coldMaxBytes)),
  shared('ssr_shared_connected', 'gauge', '1 while the shared Redis tier is connected and subscribed.', (s) => one(s.connected ? 1 : 0)),
  shared('ssr_shared_hits_total', 'counter', 'Local misses answered from Redis.', (s) => one(s.hits)),
  shared('ssr_shared_misses_total', 'counter', 'Local misses Redis could not answer.', (s) => one(s.misses)),
  shared('ssr_shared_lock_waits_total', 'counter', "Misses that waited for another instance's render.", (s) => one(s.lockWaits)),
  shared('ssr_shared_writes_total', 'counter', 'Rendered pages written to Redis.', (s) => one(s.writes)),
  shared('ssr_shared_writes_discarded_total', 'counter', 'Writes refused because an invalidation ran during the render.', (s) => one(s.writesDiscarded)),
  shared('ssr_shared_invalidations_received_total', 'counter', 'Invalidations received from other instances.', (s) => one(s.invalidationsReceived)),
  shared('ssr_shared_resyncs_total', 'counter', 'Local tiers cleared after a reconnect that may have missed invalidations.', (s) => one(s.resyncs)),
  shared('ssr_shared_errors_total', 'counter', 'Redis calls that timed out, failed, or were skipped while Redis was unreachable.',
    (s) => [[{ kind: 'timeout' }, s.errors.timeouts], [{ kind: 'error' }, s.errors.errors], [{ kind: 'unavailable' }, s.errors.unavailable]], ['kind']),
  core('ssr_renders_total', 'counter', 'Renders started in the worker pool.', (s) => one(s.renders.total)),
  core('ssr_render_errors_total', 'counter', 'Renders that threw, rejected or returned an invalid result.', (s) => one(s.renders.errors)),
  core('ssr_render_timeouts_total', 'counter', 'Renders stopped at their deadline.', (s) => one(s.renders.timeouts)),
  core('ssr_render_crashes_total', 'counter', 'Renders lost with their worker.', (s) => one(s.renders.crashes)),
  core('ssr_requests_rejected_total', 'counter', 'Requests answered 503 without a render (queue full or closing).', (s) => one(s.renders.rejected)),
  core('ssr_renders_cancelled_total', 'counter', 'Queued renders dropped because no client waited any more.', (s) => one(s.renders.cancelled)),
  core('ssr_worker_restarts_total', 'counter', 'Workers replaced after dying or being stopped.', (s) => one(s.renders.workerRestarts)),
  core('ssr_pool_threads', 'gauge', 'Worker threads in the pool.', (s) => one(s.pool.threads)),
  core('ssr_pool_busy_threads', 'gauge', 'Worker threads rendering now.', (s) => one(s.pool.busyThreads)),
  core('ssr_pool_utilization', 'gauge', 'Share of time the pool spent rendering, 0 to 1.', (s) => one(s.pool.utilization)),
  core('ssr_pool_queue_size', 'gauge', 'Renders waiting for a thread.', (s) => one(s.pool.queueSize)),
  core('ssr_pool_queue_capacity', 'gauge', 'Renders that may wait before requests are shed (maxQueue).', (s) => one(s.pool.queueCapacity)),
  core('ssr_bundle_info', 'gauge', 'The loaded server bundle.', (s) => [[{ path: s.bundle.path, version: s.bundle.version }, 1]], ['path', 'version']),
  core('ssr_bundle_loaded_timestamp_seconds', 'gauge', 'When the bundle was loaded.', (s) => one(Date.parse(s.bundle.loadedAt) / 1000)),
  core('ssr_bundle_reloads_total', 'counter', 'Bundle reloads, by result: success (switched) or failure (the old bundle kept serving).',
    (s) => [[{ result: 'success' }, s.bundle.reloads.succeeded], [{ result: 'failure' }, s.bundle.reloads.failed]], ['result'])
]

export const histogramMetrics: readonly HistogramMetric[] = [
  { name: 'ssr_render_duration_seconds', help: 'Time a worker spent rendering a page.', latency: 'render' },
  { name: 'ssr_render_queue_wait_seconds', help: 'Time a render waited for a worker.', latency: 'queueWait' }
]
