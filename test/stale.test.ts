import { test } from 'tap'
import { freshness, servableOnError } from '../dist/cache/freshness.js'
import { bundle, startApp } from './helpers/app'
import { clock, LogWatch, rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'

// The engine's cache runs on a clock the tests move: no test waits for a TTL, except the one over HTTP.
const text = (page: { bodies: { identity: Buffer } }): string => page.bodies.identity.toString()
const refreshFailed = (line: { message: string }): boolean => line.message.startsWith('SSR background refresh failed')

test('freshness: fresh until the TTL, then stale, then in reserve, then expired; windows start at the TTL', async (t) => {
  const windows = { staleWhileRevalidate: 10, staleIfError: 60 }
  t.equal(freshness(1_000, 999, windows), 'fresh')
  t.equal(freshness(1_000, 1_000, windows), 'stale', 'the TTL ends exactly at expiresAt')
  t.equal(freshness(1_000, 10_999, windows), 'stale')
  t.equal(freshness(1_000, 11_000, windows), 'reserve')
  t.equal(freshness(1_000, 60_999, windows), 'reserve')
  t.equal(freshness(1_000, 61_000, windows), 'expired')
  t.equal(freshness(1_000, 1_000, {}), 'expired', 'without windows a page goes at its TTL')
  t.equal(freshness(1_000, 5_000, { staleWhileRevalidate: 10, staleIfError: 2 }), 'stale', 'the longer window wins')
  t.equal(freshness(1_000, 11_000, { staleWhileRevalidate: 10, staleIfError: 2 }), 'expired')
  t.equal(freshness(Infinity, 1e15, windows), 'fresh', 'ttl 0 never expires')
  t.equal(servableOnError(1_000, 500, {}), true, 'a fresh page may always stand in')
  t.equal(servableOnError(1_000, 60_999, windows), true)
  t.equal(servableOnError(1_000, 61_000, windows), false)
})

test('within staleWhileRevalidate an expired page is served at once, and one background render refreshes it', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: bundle('counter.js'), cache: { ttl: 10, staleWhileRevalidate: 30 } }, undefined, time.now)
  const first = await engine.serve('/page')
  t.equal(first.cache, 'MISS')
  time.advance(11)
  const stale = await Promise.all(Array.from({ length: 20 }, async () => await engine.serve('/page')))
  t.ok(stale.every((page) => page.cache === 'STALE' && text(page) === text(first)), '20 requests get the old page at once')
  t.equal(engine.counters.refreshes, 1, 'one refresh for the 20')
  t.equal(engine.snapshot().renders.total, 2)
  // The refresh's reply needs a message from the worker, which cannot arrive before this line: it is still in flight.
  // Past every window nothing can be served, so the next request joins the refresh instead of rendering again.
  time.advance(30)
  const joined = await engine.serve('/page')
  t.equal(joined.cache, 'MISS')
  t.match(text(joined), 'renders=2 ')
  t.equal(engine.counters.coalesced, 1, 'the miss joined the refresh')
  t.equal(engine.snapshot().renders.total, 2, 'no third render')
  const hit = await engine.serve('/page')
  t.equal(hit.cache, 'HIT-HOT', 'the refreshed page was stored, with a new TTL')
  t.equal(text(hit), text(joined))
  t.match(engine.snapshot().cache, { stale: { revalidate: 20, error: 0 }, refreshes: 1, refreshFailures: 0, hits: { hot: 1 }, misses: 22 })
})

test('a refresh that fails is counted and logged; the stale page stays in use and the next request tries again', async (t) => {
  const time = clock()
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), cache: { ttl: 10, staleWhileRevalidate: 30 } }, log.onLog, time.now)
  const first = await engine.serve('/flaky')
  time.advance(11)
  let failed = log.next(refreshFailed)
  t.equal((await engine.serve('/flaky')).cache, 'STALE')
  t.match(await failed, { level: 'warn', object: { url: '/flaky', code: 'FST_SSR_RENDER_FAILED', err: { message: 'the backend is down' } } })
  t.equal(engine.counters.refreshFailures, 1)
  failed = log.next(refreshFailed)
  const again = await engine.serve('/flaky')
  t.equal(again.cache, 'STALE')
  t.equal(text(again), text(first))
  await failed
  t.match(engine.snapshot().cache, { refreshes: 2, refreshFailures: 2, stale: { revalidate: 2 } })
  t.equal(engine.snapshot().renders.errors, 2)
})

test('a refresh that answers 503 is a failure and keeps the stale page; one that answers 404 removes it', async (t) => {
  const time = clock()
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), cache: { ttl: 10, staleWhileRevalidate: 30 } }, log.onLog, time.now)
  await engine.serve('/status')
  await engine.serve('/gone')
  time.advance(11)
  const failed = log.next(refreshFailed)
  t.equal((await engine.serve('/status')).cache, 'STALE')
  t.match(await failed, { object: { url: '/status', status: 503 } })
  t.equal((await engine.serve('/status')).cache, 'STALE', 'still served')
  t.equal((await engine.serve('/gone')).cache, 'STALE')
  // Nothing announces the 404 refresh's end: wait for its effect.
  while (engine.counters.refreshes < 3 || engine.snapshot().renders.succeeded < 5 || (engine.snapshot().cache?.entries.hot ?? 0) > 1) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const gone = await engine.serve('/gone')
  t.equal(gone.status, 404, 'the application says the page is gone; no stale copy says otherwise')
  t.equal(gone.cache, 'MISS')
  t.equal(engine.counters.refreshFailures, 2, 'the two refreshes of /status; the 404 is an answer, not a failure')
})

for (const [path, failure, expected] of [
  ['/flaky', 'throws', 'FST_SSR_RENDER_FAILED'],
  ['/status', 'answers 503', null],
  ['/hang', 'times out', 'FST_SSR_RENDER_TIMEOUT']
] as const) {
  test(`within staleIfError a render that ${failure} is answered with the old page; past it the failure goes through`, async (t) => {
    const time = clock()
    const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), renderTimeout: 300, cache: { ttl: 10, staleIfError: 60 } }, undefined, time.now)
    // A loader page (keyed by its URL) whose later renders are told to fail: a hang costs its worker, and the
    // replacement would otherwise count from one again.
    let fail = false
    const data = (): unknown => ({ fail })
    const first = await engine.serve(path, data)
    t.equal(first.cache, 'MISS')
    fail = true
    time.advance(11)
    const stale = await engine.serve(path, data)
    t.equal(stale.cache, 'STALE', 'the request waited for the render, which failed')
    t.equal(text(stale), text(first))
    t.match(engine.snapshot().cache, { stale: { revalidate: 0, error: 1 }, refreshes: 0 })
    time.advance(60)
    if (expected === null) {
      const page = await engine.serve(path, data)
      t.equal(page.status, 503, 'past staleIfError the 503 page is sent')
      t.equal(page.cache, 'MISS')
    } else {
      t.equal((await rejection(t, engine.serve(path, data))).code, expected, 'past staleIfError the error is sent')
    }
    t.equal(engine.snapshot().cache?.entries.hot, 0, 'and the old page is gone')
  })
}

test('within staleIfError a render that answers 404 is sent, and the old page removed', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), cache: { ttl: 10, staleIfError: 60 } }, undefined, time.now)
  await engine.serve('/gone')
  time.advance(11)
  const gone = await engine.serve('/gone')
  t.equal(gone.status, 404, 'the application answered: the page is gone, a stale copy would contradict it')
  t.equal(gone.cache, 'MISS')
  t.equal(engine.snapshot().cache?.entries.hot, 0)
})

test('both windows: served at once while revalidating, then kept for failures until staleIfError ends', async (t) => {
  const time = clock()
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), cache: { ttl: 10, staleWhileRevalidate: 5, staleIfError: 60 } }, log.onLog, time.now)
  const first = await engine.serve('/flaky')
  time.advance(11)
  const failed = log.next(refreshFailed)
  t.equal((await engine.serve('/flaky')).cache, 'STALE')
  await failed
  time.advance(10)
  const reserve = await engine.serve('/flaky')
  t.equal(reserve.cache, 'STALE')
  t.equal(text(reserve), text(first))
  t.match(engine.snapshot().cache, { stale: { revalidate: 1, error: 1 }, refreshes: 1, refreshFailures: 1 })
})

test('a full render queue with a stale page at hand serves it, never 503', async (t) => {
  const time = clock()
  const gate = new Gate()
  t.teardown(() => gate.close())
  const log = new LogWatch()
  const { engine } = await startEngine(t, {
    bundle: bundle('gate.js'),
    maxQueue: 0,
    cache: { ttl: 10, staleWhileRevalidate: 30, staleIfError: 120 }
  }, log.onLog, time.now)
  await engine.serve('/page')
  const held = engine.serve('/hold/busy')
  await gate.started('/hold/busy')
  time.advance(11)
  const failed = log.next(refreshFailed)
  t.equal((await engine.serve('/page')).cache, 'STALE', 'within staleWhileRevalidate')
  t.match(await failed, { object: { code: 'FST_SSR_QUEUE_FULL' } }, 'the refresh was refused, not queued')
  time.advance(30)
  const reserve = await engine.serve('/page')
  t.equal(reserve.cache, 'STALE', 'within staleIfError')
  t.equal(text(reserve), '<main>/page</main>')
  t.equal((await rejection(t, engine.serve('/uncached'))).code, 'FST_SSR_QUEUE_FULL', 'a page with no stale copy is shed as before')
  t.match(engine.snapshot(), { cache: { stale: { revalidate: 1, error: 1 }, refreshFailures: 1 }, renders: { rejected: 3 } })
  gate.release('/hold/busy')
  await held
})

test('an invalidation during the render withdraws the page in reserve: the failure goes through', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: bundle('flaky.js'), cache: { ttl: 10, staleWhileRevalidate: 5, staleIfError: 60 } }, undefined, time.now)
  await engine.serve('/flaky')
  time.advance(20)
  const failing = engine.serve('/flaky')
  t.equal(engine.invalidate('/flaky'), true)
  t.equal((await rejection(t, failing)).code, 'FST_SSR_RENDER_FAILED')
  t.equal(engine.counters.stale.error, 0)
  await engine.serve('/other')
  time.advance(11)
  engine.invalidatePrefix('/oth')
  t.equal((await engine.serve('/other')).cache, 'MISS', 'an invalidated page is not served stale either')
})

test('while closing a stale page is still served, without a refresh', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: bundle('counter.js'), cache: { ttl: 10, staleWhileRevalidate: 30 } }, undefined, time.now)
  await engine.serve('/page')
  time.advance(11)
  engine.beginClose()
  t.equal((await engine.serve('/page')).cache, 'STALE')
  t.equal(engine.counters.refreshes, 0)
})

test('over HTTP a stale page says x-ssr-cache: STALE, keeps its ETag and answers If-None-Match with 304', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  // The one test on the wall clock: a TTL of one second, waited for once. Renders of /hold/ pages wait for the test.
  const { get } = await startApp(t, { bundle: bundle('gate.js'), cache: { ttl: 1, staleWhileRevalidate: 60 } })
  const rendering = get('/hold/page')
  await gate.started('/hold/page')
  gate.release('/hold/page')
  const first = await rendering
  t.equal(first.headers.get('x-ssr-cache'), 'MISS')
  const etag = first.headers.get('etag') ?? ''
  await first.text()
  await new Promise((resolve) => setTimeout(resolve, 1_100))
  const stale = await get('/hold/page')
  t.equal(stale.status, 200)
  t.equal(stale.headers.get('x-ssr-cache'), 'STALE')
  t.equal(await stale.text(), '<main>/hold/page</main>')
  t.equal(stale.headers.get('etag'), etag)
  // The refresh is held, so this one is stale too.
  const notModified = await get('/hold/page', { headers: { 'if-none-match': etag } })
  t.equal(notModified.status, 304)
  t.equal(notModified.headers.get('x-ssr-cache'), 'STALE')
  await gate.started('/hold/page', 2)
  gate.release('/hold/page')
})
