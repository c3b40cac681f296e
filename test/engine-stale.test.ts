import { test } from 'tap'
import { FST_SSR_RENDER_FAILED, FST_SSR_RENDER_TIMEOUT } from '../dist/errors.js'
import { Miss } from '../dist/engine.js'
import { rejection } from './helpers/engine'
import { fakeEngine, html, settled } from './helpers/fake-engine'
import type { FakeRender } from './helpers/fake-renderer'

// The stale windows (cache/freshness.ts) on a fake renderer and the manual clock: no TTL is waited for, and each
// refresh or failing render is settled by the test. stale.test.ts keeps the same on real workers.

const swr = { cache: { ttl: 10, staleWhileRevalidate: 30 } }
const sie = { cache: { ttl: 10, staleIfError: 60 } }

/** Serves `url` once and answers its render (the `n`th) with `html`. */
async function store (fake: ReturnType<typeof fakeEngine>, url: string, n: number, body: string): Promise<void> {
  const serving = fake.engine.serve(url)
  ;(await fake.renderer.called(n)).resolve({ html: body })
  await serving
}

test('within staleWhileRevalidate: STALE at once for every request, one refresh, then the refreshed page for a new TTL', async (t) => {
  const fake = fakeEngine(t, swr)
  const { engine, renderer, time } = fake
  await store(fake, '/page', 1, 'old')
  time.advance(11)
  const answers = Array.from({ length: 20 }, () => engine.lookup('/page', undefined))
  t.ok(answers.every((page) => !(page instanceof Miss) && page.cache === 'STALE' && html(page) === 'old'), '20 answered synchronously')
  t.equal(renderer.calls.length, 2, 'one refresh for the twenty')
  t.equal(engine.counters.refreshes, 1)
  ;(await renderer.called(2)).resolve({ html: 'new' })
  await settled()
  const hit = await engine.serve('/page')
  t.match(hit, { cache: 'HIT-HOT', age: 0 })
  t.equal(html(hit), 'new')
  time.advance(9)
  t.equal((await engine.serve('/page')).cache, 'HIT-HOT', 'its TTL counts from the refresh')
  time.advance(2)
  t.equal((await engine.serve('/page')).cache, 'STALE')
  t.match(engine.snapshot().cache, { stale: { revalidate: 21, error: 0 }, refreshes: 2, refreshFailures: 0 })
})

test('past every window a request joins the refresh in flight instead of rendering again', async (t) => {
  const fake = fakeEngine(t, swr)
  const { engine, renderer, time } = fake
  await store(fake, '/page', 1, 'old')
  time.advance(11)
  t.equal((await engine.serve('/page')).cache, 'STALE')
  time.advance(30)
  const joined = engine.serve('/page')
  t.equal(engine.counters.coalesced, 1)
  ;(await renderer.called(2)).resolve({ html: 'new' })
  t.match(await joined, { cache: 'MISS' })
  t.equal(renderer.calls.length, 2, 'no third render')
})

test('a refresh that fails is logged and counted; the stale page stays and the next request refreshes again', async (t) => {
  const fake = fakeEngine(t, swr)
  const { engine, renderer, time, lines } = fake
  await store(fake, '/page', 1, 'old')
  time.advance(11)
  t.equal((await engine.serve('/page')).cache, 'STALE')
  ;(await renderer.called(2)).reject(new FST_SSR_RENDER_FAILED({ cause: new Error('backend down') }))
  await settled()
  t.match(lines, [{ level: 'warn', object: { url: '/page', code: 'FST_SSR_RENDER_FAILED', err: { message: 'backend down' } } }])
  t.match(lines[0].message, /^SSR background refresh failed/)
  t.equal(engine.counters.refreshFailures, 1)
  const again = await engine.serve('/page')
  t.equal(again.cache, 'STALE')
  t.equal(html(again), 'old')
  t.equal(renderer.calls.length, 3, 'a new refresh')
})

for (const [status, effect] of [[503, 'keeps the stale page (a failure)'], [404, 'removes it (an answer)']] as const) {
  test(`a refresh that answers ${status} ${effect}`, async (t) => {
    const fake = fakeEngine(t, swr)
    const { engine, renderer, time } = fake
    await store(fake, '/page', 1, 'old')
    time.advance(11)
    await engine.serve('/page')
    ;(await renderer.called(2)).resolve({ status })
    await settled()
    t.equal(engine.counters.refreshFailures, status === 503 ? 1 : 0)
    const next = engine.lookup('/page', undefined)
    if (status === 503) t.match(next, { cache: 'STALE', status: 200 })
    else t.ok(next instanceof Miss && next.reserve === undefined, 'nothing left to serve')
  })
}

const failures: Array<[string, (render: FakeRender) => void, string | null]> = [
  ['throws', (render) => render.reject(new FST_SSR_RENDER_FAILED()), 'FST_SSR_RENDER_FAILED'],
  ['times out', (render) => render.reject(new FST_SSR_RENDER_TIMEOUT()), 'FST_SSR_RENDER_TIMEOUT'],
  ['answers 503', (render) => render.resolve({ status: 503 }), null]
]

for (const [failure, fail, code] of failures) {
  test(`within staleIfError a render that ${failure} is answered with the page in reserve; past it the failure goes through`, async (t) => {
    const fake = fakeEngine(t, sie)
    const { engine, renderer, time } = fake
    await store(fake, '/page', 1, 'old')
    time.advance(11)
    t.ok(engine.lookup('/page', undefined) instanceof Miss, 'in reserve: a request waits for a render')
    const standIn = engine.serve('/page')
    fail(await renderer.called(2))
    const page = await standIn
    t.equal(page.cache, 'STALE')
    t.equal(html(page), 'old')
    t.match(engine.snapshot().cache, { stale: { revalidate: 0, error: 1 }, refreshes: 0 })
    time.advance(60)
    const past = engine.serve('/page')
    fail(await renderer.called(3))
    if (code === null) t.match(await past, { status: 503, cache: 'MISS' })
    else t.equal((await rejection(t, past)).code, code)
    t.equal(engine.snapshot().cache?.entries.hot, 0, 'the old page is gone')
  })
}

test('within staleIfError a render that succeeds replaces the page in reserve', async (t) => {
  const fake = fakeEngine(t, sie)
  const { engine, renderer, time } = fake
  await store(fake, '/page', 1, 'old')
  time.advance(11)
  const serving = engine.serve('/page')
  ;(await renderer.called(2)).resolve({ html: 'new' })
  t.equal(html(await serving), 'new')
  t.equal((await engine.serve('/page')).cache, 'HIT-HOT')
  t.equal(engine.counters.stale.error, 0)
})

test('an invalidation during the render withdraws the page in reserve: the failure goes through', async (t) => {
  const fake = fakeEngine(t, sie)
  const { engine, renderer, time } = fake
  await store(fake, '/page', 1, 'old')
  time.advance(11)
  const failing = engine.serve('/page')
  t.equal(engine.invalidate('/page'), true)
  ;(await renderer.called(2)).reject(new FST_SSR_RENDER_FAILED())
  t.equal((await rejection(t, failing)).code, 'FST_SSR_RENDER_FAILED')
  t.equal(engine.counters.stale.error, 0)
})

test('a staleIfError window that ends while the render runs: the failure goes through', async (t) => {
  const fake = fakeEngine(t, sie)
  const { engine, renderer, time } = fake
  await store(fake, '/page', 1, 'old')
  time.advance(11)
  const failing = engine.serve('/page')
  const render = await renderer.called(2)
  // Looked up within the window; the render takes until past it, so the page in reserve may no longer stand in.
  time.advance(60)
  render.reject(new FST_SSR_RENDER_FAILED())
  t.equal((await rejection(t, failing)).code, 'FST_SSR_RENDER_FAILED')
  t.equal(engine.counters.stale.error, 0)
})
