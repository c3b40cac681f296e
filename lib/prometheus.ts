import type { EngineSnapshot } from './engine'
import type { SharedSnapshot } from './cache/shared/tier'
import type { LatencyHistogram } from './metrics'

/** Content type of the Prometheus text exposition format this module writes. */
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8'

type Labels = Record<string, string>

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function labelText (labels: Labels | undefined): string {
  if (labels === undefined) return ''
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

function number (value: number): string {
  if (value === Infinity) return '+Inf'
  if (Number.isNaN(value)) return 'NaN'
  return String(value)
}

/**
 * Writes one family per metric, conventions followed: `_total` counters, base units (seconds, bytes), a label per
 * tier and never per URL, so cardinality stays fixed whatever the traffic.
 */
class Exposition {
  readonly #lines: string[] = []

  counter (name: string, help: string, samples: Array<[Labels | undefined, number]>): void {
    this.#family(name, 'counter', help, samples)
  }

  gauge (name: string, help: string, samples: Array<[Labels | undefined, number]>): void {
    this.#family(name, 'gauge', help, samples)
  }

  #family (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels | undefined, number]>): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) this.#lines.push(`${name}${labelText(labels)} ${number(value)}`)
  }

  histogram (name: string, help: string, histogram: LatencyHistogram): void {
    const { bounds, counts, count, sum } = histogram.buckets()
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`)
    bounds.forEach((bound, i) => this.#lines.push(`${name}_bucket{le="${bound}"} ${counts[i]}`))
    this.#lines.push(`${name}_bucket{le="+Inf"} ${count}`, `${name}_sum ${sum}`, `${name}_count ${count}`)
  }

  toString (): string {
    return this.#lines.join('\n') + '\n'
  }
}

function sharedFamilies (out: Exposition, shared: SharedSnapshot): void {
  const one = (value: number): Array<[Labels | undefined, number]> => [[undefined, value]]
  out.gauge('ssr_shared_connected', '1 while the shared Redis tier is connected and subscribed.', one(shared.connected ? 1 : 0))
  out.counter('ssr_shared_hits_total', 'Local misses answered from Redis.', one(shared.hits))
  out.counter('ssr_shared_misses_total', 'Local misses Redis could not answer.', one(shared.misses))
  out.counter('ssr_shared_lock_waits_total', "Misses that waited for another instance's render.", one(shared.lockWaits))
  out.counter('ssr_shared_writes_total', 'Rendered pages written to Redis.', one(shared.writes))
  out.counter('ssr_shared_writes_discarded_total', 'Writes refused because an invalidation ran during the render.', one(shared.writesDiscarded))
  out.counter('ssr_shared_invalidations_received_total', 'Invalidations received from other instances.', one(shared.invalidationsReceived))
  out.counter('ssr_shared_resyncs_total', 'Local tiers cleared after a reconnect that may have missed invalidations.', one(shared.resyncs))
  out.counter('ssr_shared_errors_total', 'Redis calls that timed out, failed, or were skipped while Redis was unreachable.', [
    [{ kind: 'timeout' }, shared.errors.timeouts], [{ kind: 'error' }, shared.errors.errors], [{ kind: 'unavailable' }, shared.errors.unavailable]
  ])
}

export function toPrometheus (snapshot: EngineSnapshot, latency: { render: LatencyHistogram, queueWait: LatencyHistogram }): string {
  const out = new Exposition()
  const { cache, renders, pool, bundle } = snapshot
  if (cache !== null) {
    const tiers = (hot: number, cold: number): Array<[Labels, number]> => [[{ tier: 'hot' }, hot], [{ tier: 'cold' }, cold]]
    out.counter('ssr_cache_lookups_total', 'Page cache lookups.', [[undefined, cache.lookups]])
    out.counter('ssr_cache_hits_total', 'Page cache hits, by tier.', tiers(cache.hits.hot, cache.hits.cold))
    out.counter('ssr_cache_misses_total', 'Page cache misses (including expired entries).', [[undefined, cache.misses]])
    out.counter('ssr_cache_coalesced_total', 'Misses that waited for a render already in flight.', [[undefined, cache.coalesced]])
    out.counter('ssr_cache_promotions_total', 'Cold hits promoted to the hot tier.', [[undefined, cache.promotions]])
    out.counter('ssr_cache_insertions_total', 'Rendered pages stored.', [[undefined, cache.insertions]])
    out.counter('ssr_cache_expired_total', 'Entries found past their TTL and stale windows, and dropped.', [[undefined, cache.expired]])
    out.counter('ssr_cache_stale_served_total', 'Responses served from a page past its TTL, by window: revalidate (staleWhileRevalidate) or error (staleIfError).',
      [[{ reason: 'revalidate' }, cache.stale.revalidate], [{ reason: 'error' }, cache.stale.error]])
    out.counter('ssr_cache_refreshes_total', 'Background renders started to refresh a stale page.', [[undefined, cache.refreshes]])
    out.counter('ssr_cache_refresh_failures_total', 'Background refreshes that failed, timed out, answered 5xx or were refused.', [[undefined, cache.refreshFailures]])
    out.counter('ssr_cache_evictions_total', 'Entries pushed out of a tier by its bounds.', tiers(cache.evictions.hot, cache.evictions.cold))
    out.gauge('ssr_cache_entries', 'Entries held, by tier.', tiers(cache.entries.hot, cache.entries.cold))
    out.gauge('ssr_cache_bytes', 'Bytes held, by tier.', tiers(cache.bytes.hot, cache.bytes.cold))
    out.gauge('ssr_cache_hot_max_bytes', 'Byte bound of the hot tier.', [[undefined, cache.hotMaxBytes]])
    out.gauge('ssr_cache_cold_max_bytes', 'Byte bound of the cold tier.', [[undefined, cache.coldMaxBytes]])
    if (cache.shared !== null) sharedFamilies(out, cache.shared)
  }
  out.counter('ssr_renders_total', 'Renders started in the worker pool.', [[undefined, renders.total]])
  out.counter('ssr_render_errors_total', 'Renders that threw, rejected or returned an invalid result.', [[undefined, renders.errors]])
  out.counter('ssr_render_timeouts_total', 'Renders stopped at their deadline.', [[undefined, renders.timeouts]])
  out.counter('ssr_render_crashes_total', 'Renders lost with their worker.', [[undefined, renders.crashes]])
  out.counter('ssr_requests_rejected_total', 'Requests answered 503 without a render (queue full or closing).', [[undefined, renders.rejected]])
  out.counter('ssr_renders_cancelled_total', 'Queued renders dropped because no client waited any more.', [[undefined, renders.cancelled]])
  out.counter('ssr_worker_restarts_total', 'Workers replaced after dying or being stopped.', [[undefined, renders.workerRestarts]])
  out.histogram('ssr_render_duration_seconds', 'Time a worker spent rendering a page.', latency.render)
  out.histogram('ssr_render_queue_wait_seconds', 'Time a render waited for a worker.', latency.queueWait)
  out.gauge('ssr_pool_threads', 'Worker threads in the pool.', [[undefined, pool.threads]])
  out.gauge('ssr_pool_busy_threads', 'Worker threads rendering now.', [[undefined, pool.busyThreads]])
  out.gauge('ssr_pool_utilization', 'Share of time the pool spent rendering, 0 to 1.', [[undefined, pool.utilization]])
  out.gauge('ssr_pool_queue_size', 'Renders waiting for a thread.', [[undefined, pool.queueSize]])
  out.gauge('ssr_pool_queue_capacity', 'Renders that may wait before requests are shed (maxQueue).', [[undefined, pool.queueCapacity]])
  out.gauge('ssr_bundle_info', 'The loaded server bundle.', [[{ path: bundle.path, version: bundle.version }, 1]])
  out.gauge('ssr_bundle_loaded_timestamp_seconds', 'When the bundle was loaded.', [[undefined, Date.parse(bundle.loadedAt) / 1000]])
  out.counter('ssr_bundle_reloads_total', 'Bundle reloads, by result: success (switched) or failure (the old bundle kept serving).',
    [[{ result: 'success' }, bundle.reloads.succeeded], [{ result: 'failure' }, bundle.reloads.failed]])
  return out.toString()
}
