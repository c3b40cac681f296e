import type { Histogram, MetricValueWithName } from 'prom-client'
import type { LatencyHistogram } from './histogram'

/** One line of the exposition; buckets carry prom-client's `exemplar: null` (none kept). */
type Value = MetricValueWithName<string> & { exemplar?: null }

/**
 * A Prometheus histogram read from one of the engine's latency histograms when a registry is scraped, as prom-client
 * writes its own (cumulative `_bucket` lines with `le`, then `+Inf`, `_sum`, `_count`). A prom-client Histogram
 * would have to observe every render, once per registry (the plugin's two and the application's): ~0.2 µs each, on
 * every render, against nothing at all until a scrape. LatencyHistogram already keeps the same buckets.
 */
class LatencyMetric {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly name: string
  readonly help: string
  readonly #source: LatencyHistogram

  constructor (name: string, help: string, source: LatencyHistogram) {
    this.name = name
    this.help = help
    this.#source = source
  }

  /** What prom-client's Histogram.get() answers, in the same order. */
  async get (): Promise<{ name: string, help: string, type: string, values: Value[], aggregator: string }> {
    const { bounds, counts, count, sum } = this.#source.buckets()
    const bucket = `${this.name}_bucket`
    const values: Value[] = bounds.map((le, i) => ({ labels: { le }, value: counts[i], metricName: bucket, exemplar: null }))
    values.push(
      { labels: { le: '+Inf' }, value: count, metricName: bucket, exemplar: null },
      { labels: {}, value: sum, metricName: `${this.name}_sum` },
      { labels: {}, value: count, metricName: `${this.name}_count` }
    )
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}

/**
 * The metric as a registry takes it. A Registry accepts any object with prom-client's metric shape (name, help, type,
 * aggregator, get()); its types name prom-client's own classes only.
 */
export function latencyMetric (name: string, help: string, source: LatencyHistogram): Histogram {
  return new LatencyMetric(name, help, source) as unknown as Histogram
}
