import { test } from 'tap'
import { FST_SSR_RENDER_FAILED } from '../dist/errors.js'
import { Miss } from '../dist/engine.js'
import { rejection } from './helpers/engine'
import { fakeEngine, html, settled } from './helpers/fake-engine'

// The render-or-serve decision on a fake renderer (helpers/fake-renderer.ts): every render is settled by the test, so
// each case runs in milliseconds and orders its events itself. The real-worker tests (cache*, stale, loaders, close)
// keep the same behaviour end to end.

test('a miss renders once and stores; the next lookup is a hot hit, answered without a render or a promise', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const first = engine.serve('/page')
  ;(await renderer.called(1)).resolve({ html: '<p>one</p>' })
  const miss = await first
  t.equal(miss.cache, 'MISS')
  t.equal(html(miss), '<p>one</p>')
  t.equal(miss.headers['cache-control'], 'public, max-age=0, must-revalidate', 'a stored page tells caches to revalidate')
  const hit = engine.lookup('/page', undefined)
  t.notOk(hit instanceof Miss, 'a hit is answered synchronously')
  t.match(hit, { cache: 'HIT-HOT', etag: miss.etag, age: 0 })
  t.equal(html(hit as { bodies: { identity: Buffer } }), '<p>one</p>')
  t.equal(renderer.calls.length, 1)
  t.match(engine.snapshot().cache, { lookups: 2, hits: { hot: 1, cold: 0 }, misses: 1, insertions: 1 })
})

test('a page pushed out of the hot tier is a cold hit, then promoted back to hot', async (t) => {
  const { engine, renderer } = fakeEngine(t, { cache: { hotEntries: 1 } })
  for (const [n, url] of [[1, '/a'], [2, '/b']] as const) {
    const serving = engine.serve(url)
    ;(await renderer.called(n)).resolve()
    await serving
  }
  t.match(engine.snapshot().cache, { entries: { hot: 1, cold: 1 } }, '/a went cold when /b came in')
  t.equal((await engine.serve('/a')).cache, 'HIT-COLD')
  t.equal((await engine.serve('/a')).cache, 'HIT-HOT')
  t.equal(engine.snapshot().cache?.promotions, 1)
  t.equal(renderer.calls.length, 2, 'no render for either hit')
})

test('cache: false renders every request once, never stored; { cache: false } bypasses one call both ways', async (t) => {
  const off = fakeEngine(t, { cache: false })
  for (const n of [1, 2]) {
    const serving = off.engine.serve('/x')
    const render = await off.renderer.called(n)
    t.equal(render.once, true, 'asked as a page sent once')
    render.resolve()
    const page = await serving
    t.match(page, { cache: 'BYPASS', etag: null, headers: { 'cache-control': 'private, no-store' } })
  }
  t.equal(off.engine.cache, null)

  const on = fakeEngine(t)
  const stored = on.engine.serve('/y')
  ;(await on.renderer.called(1)).resolve({ html: 'stored' })
  await stored
  const bypass = on.engine.serve('/y', undefined, { cache: false })
  ;(await on.renderer.called(2)).resolve({ html: 'bypass' })
  t.match(await bypass, { cache: 'BYPASS' })
  t.equal(html(await bypass), 'bypass', 'it did not read the stored page')
  t.equal(html(await on.engine.serve('/y')), 'stored', 'and did not replace it')
})

const uncacheable = [
  ['a Set-Cookie', { headers: { 'set-cookie': 'session=abc' } }],
  ['Cache-Control: private', { headers: { 'cache-control': 'private, max-age=60' } }],
  ['Cache-Control: no-store', { headers: { 'cache-control': 'no-store' } }],
  ['a 404 without statusTtl', { status: 404 }],
  ['a redirect', { status: 302, headers: { location: '/elsewhere' } }],
  ['status 503', { status: 503 }]
] as const

for (const [what, answer] of uncacheable) {
  test(`a page with ${what} is sent as rendered and never stored`, async (t) => {
    const { engine, renderer } = fakeEngine(t)
    for (const n of [1, 2]) {
      const serving = engine.serve('/page')
      ;(await renderer.called(n)).resolve(answer)
      const page = await serving
      t.equal(page.status, answer.status ?? 200)
      t.equal(page.cache, 'MISS', `request ${n} rendered`)
    }
    t.equal(engine.snapshot().cache?.insertions, 0)
  })
}

test('statusTtl stores the statuses it names: a second 404 is a hit', async (t) => {
  const { engine, renderer } = fakeEngine(t, { cache: { statusTtl: { 404: 10 } } })
  const serving = engine.serve('/missing')
  ;(await renderer.called(1)).resolve({ status: 404 })
  await serving
  t.match(await engine.serve('/missing'), { status: 404, cache: 'HIT-HOT' })
})

test('50 concurrent misses of one page cause one render, and all 50 get its page', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const pages = Promise.all(Array.from({ length: 50 }, async () => await engine.serve('/hot')))
  const render = await renderer.called(1)
  t.equal(engine.counters.coalesced, 49, 'every later miss joined the first one')
  render.resolve({ html: '<p>shared</p>' })
  const served = await pages
  t.ok(served.every((page) => page.cache === 'MISS' && html(page) === '<p>shared</p>'))
  t.equal(renderer.calls.length, 1)
  t.equal((await engine.serve('/hot')).cache, 'HIT-HOT')
})

test('a failed render reaches every waiter, is never stored, and the next request renders again', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const failures = Array.from({ length: 10 }, async () => await rejection(t, engine.serve('/fail')))
  ;(await renderer.called(1)).reject(new FST_SSR_RENDER_FAILED({ cause: new Error('bundle threw') }))
  for (const error of await Promise.all(failures)) t.match(error, { code: 'FST_SSR_RENDER_FAILED', statusCode: 500 })
  t.equal(renderer.calls.length, 1, 'the ten shared one render')
  t.equal(engine.snapshot().cache?.insertions, 0)
  t.equal(engine.snapshot().renders.errors, 1)
  const next = engine.serve('/fail')
  ;(await renderer.called(2)).resolve()
  t.equal((await next).cache, 'MISS', 'a new render, not the failure again')
})

test("a caller's abort leaves the shared render to those still waiting; it is stored", async (t) => {
  const { engine, renderer } = fakeEngine(t, {}, { queued: true })
  const leaving = new AbortController()
  const left = rejection(t, engine.serve('/page', undefined, { signal: leaving.signal }))
  const staying = engine.serve('/page')
  const render = await renderer.called(1)
  leaving.abort(new Error('client gone'))
  t.equal((await left).message, 'client gone', 'the leaving caller stops waiting at once')
  t.equal(render.settled, false, 'the render was not dropped: someone still waits')
  render.start()
  render.resolve()
  t.equal((await staying).cache, 'MISS')
  t.equal((await engine.serve('/page')).cache, 'HIT-HOT')
  t.equal(engine.snapshot().renders.cancelled, 0)
})

test('a queued render no one waits for any more is dropped, and the next request renders anew', async (t) => {
  const { engine, renderer } = fakeEngine(t, {}, { queued: true })
  const leaving = new AbortController()
  const left = rejection(t, engine.serve('/page', undefined, { signal: leaving.signal }))
  const render = await renderer.called(1)
  leaving.abort(new Error('client gone'))
  await left
  t.equal(render.settled, true, 'dropped from the queue')
  t.equal(engine.snapshot().renders.cancelled, 1)
  const next = engine.serve('/page')
  const again = await renderer.called(2)
  again.start()
  again.resolve()
  t.equal((await next).cache, 'MISS')
})

test('a running render whose last waiter left finishes and is stored', async (t) => {
  const { engine, renderer } = fakeEngine(t, {}, { queued: true })
  const leaving = new AbortController()
  const left = rejection(t, engine.serve('/page', undefined, { signal: leaving.signal }))
  const render = await renderer.called(1)
  render.start()
  leaving.abort(new Error('client gone'))
  await left
  render.resolve({ html: 'finished' })
  await settled()
  const hit = await engine.serve('/page')
  t.equal(hit.cache, 'HIT-HOT')
  t.equal(html(hit), 'finished')
})

for (const [name, act] of [
  ['invalidate', (engine: ReturnType<typeof fakeEngine>['engine']) => engine.invalidate('/slow')],
  ['invalidatePrefix', (engine: ReturnType<typeof fakeEngine>['engine']) => engine.invalidatePrefix('/sl')],
  ['clear', (engine: ReturnType<typeof fakeEngine>['engine']) => engine.clear()]
] as const) {
  test(`${name} during a render: its page reaches the callers and is not stored`, async (t) => {
    const { engine, renderer } = fakeEngine(t)
    const callers = Promise.all([engine.serve('/slow'), engine.serve('/slow')])
    const render = await renderer.called(1)
    act(engine)
    render.resolve({ html: 'rendered before the purge' })
    t.ok((await callers).every((page) => page.cache === 'MISS' && html(page) === 'rendered before the purge'))
    const next = engine.serve('/slow')
    ;(await renderer.called(2)).resolve()
    t.equal((await next).cache, 'MISS', 'it was not stored')
    t.equal((await engine.serve('/slow')).cache, 'HIT-HOT', 'a render after the purge is')
  })
}

test('a purge of another page does not stop a render from being stored', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const serving = engine.serve('/slow')
  const render = await renderer.called(1)
  engine.invalidate('/elsewhere')
  engine.invalidatePrefix('/other')
  render.resolve()
  await serving
  t.equal((await engine.serve('/slow')).cache, 'HIT-HOT')
})
