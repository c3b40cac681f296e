import { test } from 'tap'
import Fastify from 'fastify'
import { Counter, Registry } from 'prom-client'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import ssrPlugin from '../dist/index.js'
import { bundle, startApp } from './helpers/app'

const mixed = bundle('mixed.js')

test('metrics: { registry } puts the plugin\'s metrics, same names, real histogram buckets, into the application\'s registry', async (t) => {
  const registry = new Registry()
  const own = new Counter({ name: 'app_orders_total', help: 'The application\'s own.', registers: [registry] })
  own.inc(3)
  const { app, get } = await startApp(t, { bundle: mixed, metrics: { registry } })
  await get('/a')
  await get('/a')
  await get('/b')
  const text = await registry.metrics()
  const families = parsePrometheusTextFormat(text) as Array<{ name: string, type: string, metrics: Array<{ value?: string, count?: string, buckets?: Record<string, string>, labels?: Record<string, string> }> }>
  const family = (name: string) => families.find((entry) => entry.name === name)
  t.equal(family('app_orders_total')?.metrics[0].value, '3', 'one scrape: the application\'s metrics')
  t.equal(family('ssr_renders_total')?.metrics[0].value, '2', 'and the plugin\'s')
  t.equal(family('ssr_cache_hits_total')?.metrics.find((m) => m.labels?.tier === 'hot')?.value, '1')
  const duration = family('ssr_render_duration_seconds')
  t.equal(duration?.type, 'HISTOGRAM')
  t.equal(duration?.metrics[0].count, '2')
  // The parser keys buckets by bound; +Inf is the count.
  const buckets = Object.entries(duration?.metrics[0].buckets ?? {}).filter(([bound]) => bound !== '+Inf').sort(([a], [b]) => Number(a) - Number(b))
  t.same(buckets.map(([bound]) => bound), ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30'])
  const counts = buckets.map(([, count]) => Number(count))
  t.ok(counts.every((count, i) => i === 0 || count >= counts[i - 1]), 'cumulative buckets')
  t.equal(counts.at(-1), 2, 'both renders under 30 s')
  t.match(family('ssr_bundle_info')?.metrics[0].labels, { version: app.ssr.version })
  t.equal((await get('/_ssr/metrics')).headers.get('x-ssr-cache'), 'MISS', 'a registry alone adds no route')
  await app.close()
  t.equal(registry.getSingleMetric('ssr_renders_total'), undefined, 'removed from the registry at close')
  t.ok(registry.getSingleMetric('app_orders_total'), 'the application\'s own kept')
})

test('a registry that already holds the plugin\'s metrics fails register with FST_SSR_INVALID_OPTION', async (t) => {
  const registry = new Registry()
  await startApp(t, { bundle: mixed, metrics: { registry } })
  const second = Fastify()
  second.register(ssrPlugin, { bundle: mixed, threads: 1, metrics: { registry } })
  await t.rejects(second.ready(), { code: 'FST_SSR_INVALID_OPTION', message: /"metrics.registry": could not take the plugin's metrics .*already been registered/ })
  await second.close()
})

test('a registry option that is not a registry fails register', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: mixed, threads: 1, metrics: { registry: {} as never } })
  await t.rejects(app.ready(), { code: 'FST_SSR_INVALID_OPTION', message: /"metrics.registry": expected a prom-client Registry, got object/ })
  await app.close()
})

test('Prometheus asking for OpenMetrics gets OpenMetrics, written by prom-client', async (t) => {
  const { get } = await startApp(t, { bundle: mixed, metrics: { auth: () => true } })
  await get('/a')
  const res = await get('/_ssr/metrics', { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' } })
  t.equal(res.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8')
  const body = await res.text()
  t.match(body, /^# TYPE ssr_renders counter$/m, 'OpenMetrics names the counter family without _total')
  t.match(body, /^ssr_renders_total 1$/m)
  t.ok(body.endsWith('# EOF\n'), 'ends with # EOF')
  const text = await get('/_ssr/metrics?format=prometheus')
  t.equal(text.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  t.match(await text.text(), /^# TYPE ssr_renders_total counter$/m)
})
