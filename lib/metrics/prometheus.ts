import { Counter, Gauge, Registry, type OpenMetricsContentType } from 'prom-client'
import type { EngineSnapshot } from './snapshot'
import { histogramMetrics, valueMetrics, type ValueMetric } from './catalog'
import type { LatencyHistogram } from './histogram'
import { latencyMetric } from './latency-metric'

function openMetricsRegistry (): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>()
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  return registry
}

/** What the exporter reads: the engine's snapshot and latency histograms. */
export interface MetricsSource {
  snapshot (): EngineSnapshot
  readonly latency: { render: LatencyHistogram, queueWait: LatencyHistogram }
}

/** Content type of the Prometheus text exposition format (0.0.4). */
export const prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE

type AnyRegistry = Registry | Registry<OpenMetricsContentType>

/**
 * The catalogue's metrics as prom-client metrics, in registries of the plugin's own (one per exposition format: a
 * prom-client registry writes one) and, when given, in the application's registry, so one scrape of the
 * application's `/metrics` covers the plugin too. Each registry gets metric objects of its own: prom-client renames
 * a counter it registers in an OpenMetrics registry, so one object cannot serve both formats. Counters and gauges
 * are read from the engine's snapshot when a registry is scraped (collect()), and the histograms from the engine's
 * latency histograms (latency-metric.ts): nothing is done for a metric until a scrape.
 */
export class PrometheusExport {
  readonly #text = new Registry()
  readonly #openMetrics = openMetricsRegistry()
  readonly #user: AnyRegistry | null
  readonly #source: MetricsSource
  /** One snapshot per scrape, not one per metric: dropped once the scrape's synchronous collect() calls are over. */
  #snapshot: EngineSnapshot | null = null
  readonly #wanted: readonly ValueMetric[]

  /** Throws prom-client's error when `user` already holds a metric of the same name (another instance of the plugin). */
  constructor (source: MetricsSource, parts: { cache: boolean, shared: boolean }, user: AnyRegistry | null) {
    this.#source = source
    const wanted = valueMetrics.filter((metric) => metric.part === 'core' || (metric.part === 'cache' && parts.cache) || (metric.part === 'shared' && parts.shared))
    this.#fill(this.#text, wanted)
    this.#fill(this.#openMetrics, wanted)
    this.#user = null
    if (user !== null) {
      try {
        this.#fill(user, wanted)
      } catch (error) {
        // What was registered before the clash goes again, so the registry is as it was.
        this.#unregister(user, wanted, error)
        throw error
      }
      this.#user = user
    }
    this.#wanted = wanted
  }

  /** The exposition for a scraper: OpenMetrics when it asks for it, else the text format 0.0.4. */
  async expose (openMetrics: boolean): Promise<{ contentType: string, body: string }> {
    const registry = openMetrics ? this.#openMetrics : this.#text
    return { contentType: registry.contentType, body: await registry.metrics() }
  }

  /** Takes the plugin's metrics out of the application's registry (at close, so a new instance may register). */
  close (): void {
    if (this.#user !== null) this.#unregister(this.#user, this.#wanted, null)
  }

  #unregister (registry: AnyRegistry, wanted: readonly ValueMetric[], clash: unknown): void {
    for (const metric of [...wanted, ...histogramMetrics]) {
      // A clash: the metric already there is another instance's, and stays.
      if (clash !== null && String((clash as Error).message).includes(`"${metric.name}"`)) break
      registry.removeSingleMetric(metric.name)
    }
  }

  #fill (registry: AnyRegistry, wanted: readonly ValueMetric[]): void {
    const registers = [registry]
    const read = (): EngineSnapshot => this.#read()
    for (const metric of wanted) {
      const config = { name: metric.name, help: metric.help, labelNames: metric.labelNames ?? [], registers }
      if (metric.type === 'counter') {
        // Counted by the engine: a scrape sets the counter to the engine's count, which only grows.
        const counter: Counter = new Counter({ ...config, collect () { counter.reset(); for (const [labels, value] of metric.samples(read())) counter.inc(labels ?? {}, value) } })
      } else {
        const gauge: Gauge = new Gauge({ ...config, collect () { gauge.reset(); for (const [labels, value] of metric.samples(read())) gauge.set(labels ?? {}, value) } })
      }
    }
    for (const metric of histogramMetrics) registry.registerMetric(latencyMetric(metric.name, metric.help, this.#source.latency[metric.latency]))
  }

  #read (): EngineSnapshot {
    if (this.#snapshot === null) {
      this.#snapshot = this.#source.snapshot()
      setImmediate(() => { this.#snapshot = null })
    }
    return this.#snapshot
  }
}
