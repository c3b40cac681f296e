import { test } from 'tap'
import { bundle, startApp } from './helpers/app'

const counter = bundle('counter.js')

function renders (html: string): number {
  return Number(/renders=(\d+)/.exec(html)?.[1])
}

test('a miss renders and stores; the next request is a hot hit served without the pool', async (t) => {
  const { app, get } = await startApp(t, { bundle: counter })
  const first = await get('/page')
  t.equal(first.headers.get('x-ssr-cache'), 'MISS')
  const firstHtml = await first.text()
  const second = await get('/page')
  t.equal(second.headers.get('x-ssr-cache'), 'HIT-HOT')
  t.equal(await second.text(), firstHtml, 'the same bytes')
  t.equal(second.headers.get('content-type'), 'text/html; charset=utf-8')
  const metrics = app.ssr.metrics()
  t.equal(metrics.renders.total, 1)
  t.match(metrics.cache, { lookups: 2, hits: { hot: 1, cold: 0 }, misses: 1, insertions: 1 })
})

test('a cold hit is labelled and promoted', async (t) => {
  const { app, get } = await startApp(t, { bundle: counter, cache: { hotEntries: 1 } })
  await get('/a')
  await get('/b') // pushes /a to cold
  const cold = await get('/a')
  t.equal(cold.headers.get('x-ssr-cache'), 'HIT-COLD')
  t.equal((await get('/a')).headers.get('x-ssr-cache'), 'HIT-HOT')
  t.equal(app.ssr.metrics().cache?.promotions, 1)
})

test('cache: false renders every request; { cache: false } bypasses one call', async (t) => {
  const off = await startApp(t, { bundle: counter, cache: false })
  t.equal((await off.get('/x')).headers.get('x-ssr-cache'), 'BYPASS')
  const again = await off.get('/x')
  t.equal(again.headers.get('x-ssr-cache'), 'BYPASS')
  t.equal(renders(await again.text()), 2)
  t.equal(off.app.ssr.metrics().cache, null)

  const on = await startApp(t, { bundle: counter })
  const bypass = await on.app.ssr.render('/y', undefined, { cache: false })
  t.equal(bypass.cache, 'BYPASS')
  t.equal((await on.app.ssr.render('/y')).cache, 'MISS', 'the bypassing call stored nothing')
  t.equal((await on.app.ssr.render('/y')).cache, 'HIT-HOT')
  t.equal((await on.app.ssr.render('/y', undefined, { cache: false })).cache, 'BYPASS', 'and read nothing')
})

test('an uncached page arrives whole in every form: bytes to the socket, a string from fastify.ssr.render', async (t) => {
  // Non-ASCII text, some of it outside Latin-1, and a length past Buffer's pool: the bytes a worker sends are its own.
  const text = 'prix 12 € · naïve — 東京 ' + 'x'.repeat(9000)
  for (const threads of [1, 0]) {
    const off = await startApp(t, { bundle: counter, cache: false, threads }, { text })
    const response = await off.get('/text')
    const body = Buffer.from(await response.arrayBuffer())
    t.equal(response.headers.get('x-ssr-cache'), 'BYPASS')
    t.equal(Number(response.headers.get('content-length')), body.byteLength, `threads: ${threads}: Content-Length counts bytes`)
    t.ok(body.toString('utf8').includes(JSON.stringify(text)), `threads: ${threads}: the text as rendered`)
    const rendered = await off.app.ssr.render('/text', { text })
    t.type(rendered.html, 'string')
    t.ok(rendered.html.includes(JSON.stringify(text)), `threads: ${threads}: fastify.ssr.render answers the same text`)
  }
})

test('pages never mix users: the data is part of the key', async (t) => {
  const { get } = await startApp(t, { bundle: counter, cache: { query: [] } }, (query) => ({ user: query.user }))
  for (let round = 0; round < 3; round++) {
    for (const user of ['ada', 'bob', 'eve']) {
      const html = await (await get(`/account?user=${user}`)).text()
      t.match(html, `"user":"${user}"`, `round ${round}: ${user} sees their own page`)
      t.notMatch(html, /ada|bob|eve/.source.replace(user, 'zzz'))
    }
  }
})

test('only plain 200 pages are stored', async (t) => {
  const { get } = await startApp(t, { bundle: counter })
  for (const path of ['/missing', '/cookie', '/private', '/no-store', '/redirect']) {
    const first = await get(path, { redirect: 'manual' })
    const second = await get(path, { redirect: 'manual' })
    t.equal(second.headers.get('x-ssr-cache'), 'MISS', `${path} was not stored`)
    t.equal(first.status, second.status)
  }
  t.equal((await get('/cookie')).headers.get('set-cookie'), 'session=abc', 'Set-Cookie is sent, just not cached')
  const failed = await get('/fail')
  t.equal(failed.status, 500)
  t.equal(failed.headers.get('x-ssr-cache'), null)
  t.equal((await get('/fail')).status, 500, 'a failure is never stored')
})

test('the query allowlist keeps 10,000 random cache-busters to one entry, and the render never sees them', async (t) => {
  const { app } = await startApp(t, { bundle: counter, cache: { query: ['page'] } })
  for (let i = 0; i < 10_000; i++) {
    const page = await app.ssr.render(`/list?page=2&cb=${Math.random()}&utm_source=x${i}`)
    if (i === 0) t.match(page.html, 'url=/list?page=2 ', 'render URL without the dropped parameters')
  }
  const metrics = app.ssr.metrics()
  t.equal(metrics.renders.total, 1)
  t.equal(metrics.cache?.entries.hot, 1)
  t.equal(metrics.cache?.entries.cold, 0)
})

test('without an allowlist, random parameters stay within the entry and byte bounds', async (t) => {
  const limits = { hotEntries: 8, coldEntries: 32, coldMaxBytes: 4_000 }
  const { app } = await startApp(t, { bundle: counter, cache: limits })
  for (let i = 0; i < 2_000; i++) await app.ssr.render(`/list?cb=${Math.random()}`)
  const { cache } = app.ssr.metrics()
  t.ok((cache?.entries.hot ?? 0) <= limits.hotEntries)
  t.ok((cache?.entries.cold ?? 0) <= limits.coldEntries)
  t.ok((cache?.bytes.cold ?? 0) <= limits.coldMaxBytes, `${cache?.bytes.cold} cold bytes`)
  t.ok((cache?.evictions.cold ?? 0) > 0, 'the bound was reached and enforced')
})

test('a route may supply its own key', async (t) => {
  const { app } = await startApp(t, { bundle: counter })
  const first = await app.ssr.render('/one', undefined, { key: 'shared-page' })
  const second = await app.ssr.render('/two', undefined, { key: 'shared-page' })
  t.equal(second.cache, 'HIT-HOT')
  t.equal(second.html, first.html, 'the route decided both URLs are one page')
  t.equal(app.ssr.invalidateKey('shared-page'), true)
  t.equal((await app.ssr.render('/two', undefined, { key: 'shared-page' })).cache, 'MISS')
  t.equal((await app.ssr.render('/one')).cache, 'MISS', 'route keys never collide with derived keys')
})

test('invalidate, invalidatePrefix and clear from code', async (t) => {
  const { app } = await startApp(t, { bundle: counter, cache: { hotEntries: 2 } })
  for (const url of ['/products/1', '/products/2', '/products/3', '/about']) await app.ssr.render(url, { v: 1 })
  t.equal(app.ssr.invalidate('/about', { v: 2 }), false, 'other data, other page')
  t.equal(app.ssr.invalidate('/about', { v: 1 }), true)
  t.equal((await app.ssr.render('/about', { v: 1 })).cache, 'MISS')
  t.equal(app.ssr.invalidatePrefix('/products/'), 3, 'from both tiers')
  t.equal((await app.ssr.render('/products/1', { v: 1 })).cache, 'MISS')
  const before = app.ssr.metrics().cache?.insertions ?? 0
  t.equal(app.ssr.clear(), 2)
  t.equal((await app.ssr.render('/about', { v: 1 })).cache, 'MISS')
  t.equal(app.ssr.metrics().cache?.insertions, before + 1, 'counters are kept across clear')
})

test('data without a canonical form renders uncached', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('rusty.js'), browserGlobals: true })
  const data: Record<string, unknown> = { name: 'loop' }
  data.self = data
  const page = await app.ssr.render('/cyclic', data)
  t.equal(page.status, 200)
  t.match(page.html, 'Hello loop', 'structured cloning carried the cycle to the render')
  t.equal(page.cache, 'BYPASS')
})
