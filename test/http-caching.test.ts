import { test } from 'tap'
import { bundle, startApp } from './helpers/app'
import { clock, startEngine } from './helpers/engine'

// HTTP caching (issue 15): Cache-Control, Age, Last-Modified, If-Modified-Since, cache.vary, statusTtl, ignoreQuery.

const counter = bundle('counter.js')

test('stored pages say how caches may keep them; pages never stored say private, no-store', async (t) => {
  const started = await startApp(t, { bundle: counter }, undefined, (app) => {
    app.get('/off/*', (request, reply) => reply.ssr(request.url, undefined, { cache: false }))
  })
  const miss = await started.get('/page')
  t.equal(miss.headers.get('cache-control'), 'public, max-age=0, must-revalidate')
  t.equal(miss.headers.get('age'), null, 'a fresh render has no Age')
  const lastModified = miss.headers.get('last-modified') ?? ''
  t.ok(Date.parse(lastModified) <= Date.now(), `Last-Modified: ${lastModified}`)
  const hit = await started.get('/page')
  t.equal(hit.headers.get('x-ssr-cache'), 'HIT-HOT')
  t.equal(hit.headers.get('cache-control'), 'public, max-age=0, must-revalidate')
  t.match(hit.headers.get('age'), /^\d+$/)
  t.equal(hit.headers.get('last-modified'), lastModified)
  for (const path of ['/missing/x', '/cookie/x', '/off/x']) {
    t.equal((await started.get(path)).headers.get('cache-control'), 'private, no-store', path)
  }
  t.equal((await started.get('/private/x')).headers.get('cache-control'), 'private, max-age=0', "the render's own is kept")
  const since = await started.get('/page', { headers: { 'if-modified-since': lastModified } })
  t.equal(since.status, 304, 'If-Modified-Since at the render time: not modified')
  const before = new Date(Date.parse(lastModified) - 1000).toUTCString()
  t.equal((await started.get('/page', { headers: { 'if-modified-since': before } })).status, 200)
  const etagWins = await started.get('/page', { headers: { 'if-modified-since': lastModified, 'if-none-match': '"other"' } })
  t.equal(etagWins.status, 200, 'If-None-Match, when sent, decides alone')
})

test("cache.control: 'shared' adds s-maxage and the stale windows; a string or a function replaces the value", async (t) => {
  const shared = await startApp(t, { bundle: counter, cache: { ttl: 120, staleWhileRevalidate: 30, staleIfError: 600, control: 'shared' } })
  t.equal((await shared.get('/a')).headers.get('cache-control'), 'public, max-age=0, s-maxage=120, stale-while-revalidate=30, stale-if-error=600')
  const fixed = await startApp(t, { bundle: counter, cache: { control: 'public, max-age=60' } })
  t.equal((await fixed.get('/a')).headers.get('cache-control'), 'public, max-age=60')
  const seen: unknown[] = []
  const computed = await startApp(t, { bundle: counter, cache: { control: (page) => { seen.push(page); return `public, max-age=${page.url.length}` } } })
  t.equal((await computed.get('/abc')).headers.get('cache-control'), 'public, max-age=4')
  t.equal((await computed.get('/abc')).headers.get('cache-control'), 'public, max-age=4', 'the hit keeps it')
  t.equal(seen.length, 1, 'asked once per stored page')
  t.match(seen[0], { url: '/abc', status: 200 })
})

test('Age grows with the cache clock', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: counter, cache: { ttl: 0 } }, undefined, time.now)
  t.equal((await engine.serve('/a')).age, undefined)
  t.equal((await engine.serve('/a')).age, 0)
  time.advance(42.5)
  t.equal((await engine.serve('/a')).age, 42)
})

test('cache.vary splits pages by header and cookie and says so in Vary; a cookie makes them private downstream', async (t) => {
  const started = await startApp(t, { bundle: counter, cache: { vary: ['Accept-Language'] } }, undefined, (app) => {
    app.get('/money/*', (request, reply) => reply.ssr(request.url, undefined, { vary: ['cookie:currency'] }))
  })
  const get = async (path: string, headers: Record<string, string>) => {
    const res = await started.get(path, { headers })
    return { cache: res.headers.get('x-ssr-cache'), vary: res.headers.get('vary'), control: res.headers.get('cache-control'), body: await res.text() }
  }
  const en = await get('/p', { 'accept-language': 'en' })
  t.equal(en.cache, 'MISS')
  t.equal(en.vary, 'accept-language')
  t.equal((await get('/p', { 'accept-language': ' en ' })).cache, 'HIT-HOT', 'values are trimmed')
  t.equal((await get('/p', { 'accept-language': 'fr' })).cache, 'MISS', 'another language, another page')
  t.equal((await get('/p', {})).cache, 'MISS')
  const eur = await get('/money/x', { cookie: 'session=1; currency=EUR', 'accept-language': 'en' })
  t.equal(eur.cache, 'MISS')
  t.equal(eur.vary, 'accept-language, cookie')
  t.equal(eur.control, 'private, max-age=0, must-revalidate', 'a shared cache cannot tell cookie values apart')
  t.equal((await get('/money/x', { cookie: 'currency=EUR; other=2', 'accept-language': 'en' })).cache, 'HIT-HOT', 'other cookies do not matter')
  t.equal((await get('/money/x', { cookie: 'currency=USD', 'accept-language': 'en' })).cache, 'MISS')
  t.equal(started.app.ssr.invalidate('/p'), true, 'invalidate removes every variant')
  t.equal((await get('/p', { 'accept-language': 'en' })).cache, 'MISS')
  t.equal((await get('/p', { 'accept-language': 'fr' })).cache, 'MISS')
})

test('cache.statusTtl stores 404s for their own TTL, then they expire', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: counter, cache: { ttl: 300, statusTtl: { 404: 10 } } }, undefined, time.now)
  const first = await engine.serve('/missing/x')
  t.equal(first.status, 404)
  t.equal(first.cache, 'MISS')
  const again = await engine.serve('/missing/x')
  t.equal(again.cache, 'HIT-HOT', 'the 404 was stored')
  t.equal(again.headers['cache-control'], 'public, max-age=0, must-revalidate')
  time.advance(11)
  t.equal((await engine.serve('/missing/x')).cache, 'MISS', 'and expired after its 10 s')
  t.equal(engine.snapshot().renders.total, 2)
})

test('tracking parameters share one entry and never reach the render; ignoreQuery: [] turns that off', async (t) => {
  const started = await startApp(t, { bundle: counter })
  const bodies = []
  for (const query of ['utm_source=a', 'utm_source=b&utm_medium=x', 'gclid=1', 'fbclid=2', 'msclkid=3', '']) {
    const res = await started.get(`/landing?${query}`)
    bodies.push(await res.text())
  }
  t.same(new Set(bodies), new Set(['<p>url=/landing renders=1 data=null</p>']), 'six URLs, one render of /landing')
  t.equal((await started.get('/landing?page=2')).headers.get('x-ssr-cache'), 'MISS', 'other parameters still count')
  const off = await startApp(t, { bundle: counter, cache: { ignoreQuery: [] } })
  t.equal(await (await off.get('/landing?utm_source=a')).text(), '<p>url=/landing?utm_source=a renders=1 data=null</p>')
})
