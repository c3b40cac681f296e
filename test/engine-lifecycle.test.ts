import { test } from 'tap'
import { rejection } from './helpers/engine'
import { fakeEngine, html, settled } from './helpers/fake-engine'

// Reloads, lazy data and closing, on a fake renderer and bundle side: each render is settled by the test, so every
// ordering (a render in flight across a reload, data still loading when a close begins) is reached on purpose.
// reload.test.ts, loaders.test.ts and close.test.ts keep the same on real workers.

/** Serves `url` once and answers its render (the `n`th). */
async function store (fake: ReturnType<typeof fakeEngine>, url: string, n: number): Promise<void> {
  const serving = fake.engine.serve(url)
  ;(await fake.renderer.called(n)).resolve()
  await serving
}

/** A loader the test releases, which says when it was called. */
function heldLoader<T> (value: T) {
  let calls = 0
  let release!: () => void
  let called!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const firstCall = new Promise<void>((resolve) => { called = resolve })
  const loader = async (request?: unknown): Promise<T & { request?: unknown }> => {
    calls++
    called()
    await released
    return { ...value, request }
  }
  return { loader, release, firstCall, calls: () => calls }
}

test("a reload to another bundle version drops the old version's pages; reloading the same version keeps them", async (t) => {
  const fake = fakeEngine(t)
  const { engine, renderer } = fake
  await store(fake, '/a', 1)
  await store(fake, '/b', 2)
  t.match(await engine.reload('/fake/v1.js'), { version: 'v1' })
  t.equal((await engine.serve('/a')).cache, 'HIT-HOT', 'same content, same pages')
  t.match(await engine.reload('/fake/v2.js'), { version: 'v2' })
  t.equal(engine.version, 'v2')
  t.match(engine.snapshot().cache, { entries: { hot: 0, cold: 0 } }, 'the old pages take no room')
  t.match(engine.snapshot().bundle, { version: 'v2', reloads: { succeeded: 2 } })
  const again = engine.serve('/a')
  ;(await renderer.called(3)).resolve()
  t.equal((await again).cache, 'MISS', 'rendered by the new bundle')
})

test('a render in flight across a reload is sent to its callers and not stored', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const serving = engine.serve('/page')
  const old = await renderer.called(1)
  await engine.reload('/fake/v2.js')
  old.resolve({ html: 'old bundle' })
  t.equal(html(await serving), 'old bundle')
  await settled()
  t.equal(engine.snapshot().cache?.entries.hot, 0)
})

test('a loader runs only on a miss, once for 20 coalesced misses, with the request; the render gets its value', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const held = heldLoader({ id: 7 })
  const misses = Promise.all(Array.from({ length: 20 }, async () => await engine.serve('/p', held.loader, { request: 'the request' })))
  await held.firstCall
  t.equal(renderer.calls.length, 0, 'the render waits for its data')
  held.release()
  const render = await renderer.called(1)
  t.same(render.data, { id: 7, request: 'the request' })
  t.equal(render.admitted, true, 'admitted before its data was loaded')
  render.resolve()
  t.ok((await misses).every((page) => page.cache === 'MISS'))
  const hit = await engine.serve('/p', () => { throw new Error('a hit must not call the loader') })
  t.equal(hit.cache, 'HIT-HOT')
  t.equal(held.calls(), 1, 'one call for 21 requests')
})

test('a loader that throws: FST_SSR_DATA_FAILED for every waiter, no render, nothing stored, the next request loads again', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  let calls = 0
  const loader = (): never => { calls++; throw new Error('database down') }
  const failures = await Promise.all(Array.from({ length: 5 }, async () => await rejection(t, engine.serve('/p', loader))))
  for (const error of failures) t.match(error, { code: 'FST_SSR_DATA_FAILED', statusCode: 500, cause: { message: 'database down' } })
  t.notMatch(failures[0].message, /database/, 'the message says nothing of it')
  t.equal(calls, 1, 'coalesced: one call')
  t.equal(renderer.calls.length, 0, 'no render for data that never came')
  t.equal(engine.snapshot().cache?.insertions, 0)
  t.equal((await rejection(t, engine.serve('/p', loader))).code, 'FST_SSR_DATA_FAILED')
  t.equal(calls, 2, 'not cached: loaded again')
})

test('close refuses new renders with FST_SSR_CLOSING, serves hits, and waits for the renders running', async (t) => {
  const fake = fakeEngine(t)
  const { engine, renderer, bundles } = fake
  await store(fake, '/cached', 1)
  const running = engine.serve('/running')
  const render = await renderer.called(2)
  let closed = false
  const closing = engine.close().then(() => { closed = true })
  t.equal(bundles.closing, true)
  t.match(await rejection(t, engine.serve('/new')), { code: 'FST_SSR_CLOSING', statusCode: 503 })
  t.equal(engine.snapshot().renders.rejected, 1)
  t.equal((await engine.serve('/cached')).cache, 'HIT-HOT', 'a hit needs no render')
  const joined = engine.serve('/running')
  await settled()
  t.equal(closed, false, 'close waits for the render running')
  t.equal(bundles.closed, false, 'and the workers with it')
  render.resolve()
  t.equal((await running).status, 200)
  t.equal((await joined).status, 200, 'a request that joined it is served')
  await closing
  t.equal(bundles.closed, true)
  t.equal(renderer.calls.length, 2)
  t.equal((await rejection(t, engine.reload())).code, 'FST_SSR_CLOSING')
})

test('a loader page whose data was loading when the close began still renders: it was admitted before', async (t) => {
  const { engine, renderer } = fakeEngine(t)
  const held = heldLoader({ late: true })
  const page = engine.serve('/loading', held.loader)
  await held.firstCall
  const closing = engine.close()
  t.equal((await rejection(t, engine.serve('/new', () => ({})))).code, 'FST_SSR_CLOSING', 'a new loader page is refused')
  held.release()
  ;(await renderer.called(1)).resolve({ html: 'late' })
  t.equal(html(await page), 'late')
  await closing
})

test('at closeTimeout the renders still running are stopped and answered FST_SSR_CLOSING', async (t) => {
  const { engine, renderer } = fakeEngine(t, { closeTimeout: 0 })
  const stuck = rejection(t, engine.serve('/stuck'))
  await renderer.called(1)
  await engine.close()
  t.match(await stuck, { code: 'FST_SSR_CLOSING', statusCode: 503 })
  t.equal(engine.snapshot().renders.cancelled, 0, 'stopped by the close, not cancelled by a client')
})

test('while closing a stale page is still served, without a refresh', async (t) => {
  const fake = fakeEngine(t, { cache: { ttl: 10, staleWhileRevalidate: 30 } })
  const { engine, renderer, time } = fake
  await store(fake, '/page', 1)
  time.advance(11)
  engine.beginClose()
  t.equal((await engine.serve('/page')).cache, 'STALE')
  t.equal(renderer.calls.length, 1)
  t.equal(engine.counters.refreshes, 0)
})
