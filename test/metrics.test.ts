import { test } from 'tap'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { PrometheusExport } from '../dist/metrics/prometheus.js'
import { bundle, startApp } from './helpers/app'
import { clock, LogWatch, rejection, startEngine } from './helpers/engine'

interface Family { name: string, type: string, metrics: Array<{ value?: string, labels?: Record<string, string>, buckets?: Record<string, string>, count?: string, sum?: string }> }

function sample (families: Family[], name: string, labels?: Record<string, string>): number {
  const family = families.find((f) => f.name === name)
  if (family === undefined) throw new Error(`no family ${name}`)
  const metric = family.metrics.find((m) => labels === undefined || Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return Number(metric?.value ?? metric?.count)
}

test('GET /_ssr/metrics reports JSON whose values move with hits, misses, errors, timeouts and 503s', async (t) => {
  const { app, get } = await startApp(t, { bundle: bundle('mixed.js'), threads: 1, maxQueue: 0, renderTimeout: 300, cache: { hotEntries: 1 }, metrics: { auth: () => true } })
  const read = async () => await (await get('/_ssr/metrics')).json()

  const empty = await read()
  t.match(empty, {
    cache: {
      lookups: 0,
      hits: { hot: 0, cold: 0 },
      misses: 0,
      hitRate: 0,
      entries: { hot: 0, cold: 0 },
      stale: { revalidate: 0, error: 0 },
      refreshes: 0,
      refreshFailures: 0
    },
    renders: { total: 0, errors: 0, timeouts: 0, rejected: 0, durationMs: { count: 0 } },
    pool: { threads: 1, queueCapacity: 0 },
    bundle: { path: bundle('mixed.js'), reloads: { succeeded: 0, failed: 0 } }
  })
  t.match(empty.bundle.version, /^[0-9a-f]{16}$/)
  t.ok(Date.parse(empty.bundle.loadedAt) > 0)

  await get('/a') // miss, render
  await get('/a') // hot hit
  await get('/b') // miss, /a goes cold
  await get('/a') // cold hit, promotion; /b goes cold
  await get('/fail') // render error
  t.equal((await get('/hang')).status, 504)
  // The hung render cost its worker. This render (uncached, so no lookup) waits for the replacement to load the
  // bundle, however long a busy machine takes; then the next hang can take the only thread.
  await app.ssr.render('/ready', undefined, { cache: false, renderTimeout: 60_000 })

  const hanging = get('/hang/2')
  // Wait until that render occupies the only thread, then one more render must be shed.
  for (let busy = 0; busy < 1;) busy = (await read()).pool.busyThreads
  const shed = await get('/c')
  t.equal(shed.status, 503)
  t.equal((await get('/a')).status, 200, 'a cache hit is served while the queue is full')
  t.equal((await hanging).status, 504)

  const after = await read()
  t.match(after.cache, { hits: { hot: 2, cold: 1 }, misses: 6, promotions: 1, insertions: 2, evictions: { hot: 2 }, entries: { hot: 1, cold: 1 } })
  t.equal(after.cache.lookups, 9)
  t.equal(after.cache.hitRate, 3 / 9)
  t.ok(after.cache.bytes.hot > 0 && after.cache.bytes.cold > 0)
  t.match(after.renders, { total: 6, succeeded: 3, errors: 1, timeouts: 2, rejected: 1 })
  t.equal(after.renders.durationMs.count, 4, 'completed renders are timed')
  t.ok(after.renders.durationMs.p99 >= after.renders.durationMs.p50)
  t.equal(after.renders.queueWaitMs.count, 4)
  t.ok(after.renders.workerRestarts >= 1, 'stopping hung renders cost workers, and they were replaced')
})

test('the Prometheus exposition parses with a real parser and follows the naming conventions', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('mixed.js'), metrics: { auth: () => true } })
  await get('/x')
  await get('/x')
  await get('/fail')
  for (const init of [{ headers: { accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1' } }, undefined]) {
    const res = await get(init === undefined ? '/_ssr/metrics?format=prometheus' : '/_ssr/metrics', init)
    t.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    const families = parsePrometheusTextFormat(text) as Family[]
    t.ok(families.length > 20, `${families.length} families`)
    t.equal(sample(families, 'ssr_cache_hits_total', { tier: 'hot' }), 1)
    t.equal(sample(families, 'ssr_cache_misses_total'), 2)
    t.equal(sample(families, 'ssr_renders_total'), 2)
    t.equal(sample(families, 'ssr_render_errors_total'), 1)
    const duration = families.find((f) => f.name === 'ssr_render_duration_seconds')
    t.equal(duration?.type, 'HISTOGRAM')
    t.equal(duration?.metrics[0].count, '2')
    t.equal(duration?.metrics[0].buckets?.['30'], '2', 'cumulative buckets')
    for (const family of families) {
      if (family.type === 'COUNTER') t.match(family.name, /_total$/, `${family.name} is a counter named _total`)
      for (const metric of family.metrics) t.notOk(metric.labels?.url ?? metric.labels?.path?.startsWith('/x'), 'no per-URL labels')
    }
  }
})

test('app.ssr.metrics() returns the same snapshot as the route', async (t) => {
  const { app, get } = await startApp(t, { bundle: bundle('mixed.js'), metrics: { auth: () => true } })
  await get('/y')
  const fromRoute = await (await get('/_ssr/metrics')).json()
  const fromCode = JSON.parse(JSON.stringify(app.ssr.metrics()))
  // Utilization is a ratio over elapsed time, so it moves between two reads; everything else must be equal.
  delete fromRoute.pool.utilization
  delete fromCode.pool.utilization
  t.same(fromRoute, fromCode)
})

test('stale pages served, refreshes and reloads are counted in JSON and in Prometheus', async (t) => {
  const time = clock()
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), cache: { ttl: 10, staleWhileRevalidate: 5, staleIfError: 60 } }, log.onLog, time.now)
  await engine.serve('/flaky')
  time.advance(11)
  const refreshFailed = log.next((line) => line.message.startsWith('SSR background refresh failed'))
  t.equal((await engine.serve('/flaky')).cache, 'STALE')
  await refreshFailed
  time.advance(10)
  t.equal((await engine.serve('/flaky')).cache, 'STALE')
  await engine.reload()
  await rejection(t, engine.reload(bundle('does-not-exist.js')))

  const snapshot = engine.snapshot()
  t.match(snapshot.cache, { stale: { revalidate: 1, error: 1 }, refreshes: 1, refreshFailures: 1 })
  t.match(snapshot.bundle, { reloads: { succeeded: 1, failed: 1 } })
  const exposition = await new PrometheusExport(engine, { cache: true, shared: false }, null).expose(false)
  const families = parsePrometheusTextFormat(exposition.body) as Family[]
  t.equal(sample(families, 'ssr_cache_stale_served_total', { reason: 'revalidate' }), 1)
  t.equal(sample(families, 'ssr_cache_stale_served_total', { reason: 'error' }), 1)
  t.equal(sample(families, 'ssr_cache_refreshes_total'), 1)
  t.equal(sample(families, 'ssr_cache_refresh_failures_total'), 1)
  t.equal(sample(families, 'ssr_bundle_reloads_total', { result: 'success' }), 1)
  t.equal(sample(families, 'ssr_bundle_reloads_total', { result: 'failure' }), 1)
  for (const family of families) if (family.type === 'COUNTER') t.match(family.name, /_total$/)
})
