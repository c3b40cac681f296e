import { Histogram, Registry } from 'prom-client'
import { test } from 'tap'
import { latencyBuckets, LatencyHistogram } from '../lib/metrics/histogram'
import { latencyMetric } from '../lib/metrics/latency-metric'

// The render histograms are read from the engine's own buckets at a scrape (lib/metrics/latency-metric.ts) rather
// than observed into prom-client on every render: what a scraper reads must be what prom-client's Histogram writes.

test('a latency metric is exposed as a prom-client Histogram of the same values, in both formats', async (t) => {
  const values = [0.2, 0.9, 1, 3.7, 12, 80, 450, 2600, 45000, 0]
  for (const contentType of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE] as const) {
    const ours = new Registry(contentType)
    const theirs = new Registry(contentType)
    const source = new LatencyHistogram()
    ours.registerMetric(latencyMetric('ssr_test_seconds', 'A test.', source))
    const histogram = new Histogram({ name: 'ssr_test_seconds', help: 'A test.', buckets: [...latencyBuckets], registers: [theirs] })
    t.equal(await ours.metrics(), await theirs.metrics(), `${contentType}: empty`)
    for (const milliseconds of values) {
      source.record(milliseconds)
      histogram.observe(milliseconds / 1000)
    }
    t.equal(await ours.metrics(), await theirs.metrics(), `${contentType}: after ${values.length} values`)
    // As JSON, as getMetricsAsJSON() is for: prom-client's sum and count carry an `exemplar: undefined` JSON drops.
    const json = async (registry: Registry<typeof contentType>): Promise<unknown> => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON()))
    t.same(await json(ours), await json(theirs), `${contentType}: as JSON`)
  }
})
