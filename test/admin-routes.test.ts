import { test } from 'tap'
import Fastify from 'fastify'
import ssrPlugin from '../dist/index.js'
import { bundle, startApp } from './helpers/app'

const mixed = bundle('mixed.js')
const unauthorized = { statusCode: 401, code: 'FST_SSR_UNAUTHORIZED', error: 'Unauthorized', message: 'Unauthorized' }

test('by default there is no metrics route: not even a direct loopback request reads it', async (t) => {
  const { get } = await startApp(t, { bundle: mixed })
  const res = await get('/_ssr/metrics')
  t.equal(res.headers.get('x-ssr-cache'), 'MISS', 'the catch-all page route answered instead')
})

test('metrics: {} without auth or port fails register: the route never exists unprotected', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: mixed, threads: 1, metrics: {} })
  await t.rejects(app.ready(), { code: 'FST_SSR_INVALID_OPTION', message: /"metrics": expected auth .*, port .* or registry .*, or several/ })
  await app.close()
})

test('metrics: { port } serves the route on a loopback listener of its own, and not on the application\'s port', async (t) => {
  const { app, get } = await startApp(t, { bundle: mixed, metrics: { port: 0 } })
  await get('/x')
  const url = app.ssr.metricsUrl ?? ''
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/_ssr\/metrics$/)
  const json = await fetch(url)
  t.equal(json.status, 200)
  t.equal((await json.json()).renders.total, 1)
  const text = await fetch(url, { headers: { accept: 'text/plain;version=0.0.4' } })
  t.match(text.headers.get('content-type'), /^text\/plain/)
  t.match(await text.text(), /ssr_renders_total 1/)
  t.equal((await fetch(url.replace('/_ssr/metrics', '/elsewhere'))).status, 404, 'nothing else there')
  t.equal((await fetch(url, { method: 'POST' })).status, 405)
  t.equal((await get('/_ssr/metrics')).headers.get('x-ssr-cache'), 'MISS', 'not on the application\'s port: the page route answered')
  await app.close()
  await t.rejects(fetch(url), 'closed with the server')
})

test('a metrics port already taken fails ready() with FST_SSR_METRICS_LISTEN', async (t) => {
  const { app: first } = await startApp(t, { bundle: mixed, metrics: { port: 0 } })
  const port = Number(new URL(first.ssr.metricsUrl ?? '').port)
  const app = Fastify()
  app.register(ssrPlugin, { bundle: mixed, threads: 1, metrics: { port } })
  await t.rejects(app.ready(), { code: 'FST_SSR_METRICS_LISTEN', message: /127\.0\.0\.1:\d+: .*EADDRINUSE/ })
  await app.close()
})

test('metrics: { path, auth } moves and protects the route', async (t) => {
  const { get } = await startApp(t, {
    bundle: mixed,
    metrics: { path: '/ops/ssr', auth: async (request) => request.headers.authorization === 'Bearer s3cret' }
  })
  t.equal((await get('/ops/ssr', { headers: { authorization: 'Bearer s3cret' } })).status, 200)
  const refused = await get('/ops/ssr', { headers: { authorization: 'Bearer wrong' } })
  t.equal(refused.status, 401)
  t.same(await refused.json(), unauthorized)
  const old = await get('/_ssr/metrics')
  t.equal(old.headers.get('x-ssr-cache'), 'MISS', 'the old path is just a page now')
})

test('an auth function that throws refuses', async (t) => {
  const { get } = await startApp(t, { bundle: mixed, metrics: { auth: () => { throw new Error('db down') } } })
  t.equal((await get('/_ssr/metrics')).status, 401)
})

test('metrics: false removes the route', async (t) => {
  const { get } = await startApp(t, { bundle: mixed, metrics: false })
  const res = await get('/_ssr/metrics')
  t.equal(res.headers.get('x-ssr-cache'), 'MISS', 'the catch-all page route answered instead')
})

test('the purge route does not exist unless configured', async (t) => {
  const app = Fastify()
  await app.register(ssrPlugin, { bundle: mixed, threads: 1 })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'DELETE', url: '/_ssr/cache' })).statusCode, 404)
})

test('purge requires an auth function', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: mixed, threads: 1, purge: {} as never })
  await t.rejects(app.ready(), { code: 'FST_SSR_INVALID_OPTION', message: /"purge.auth": expected a function/ })
  await app.close()
})

test('DELETE /_ssr/cache clears, ?prefix= invalidates a prefix; other methods and strangers purge nothing', async (t) => {
  const { app, get } = await startApp(t, {
    bundle: mixed,
    purge: { auth: (request) => request.headers['x-admin-token'] === 'ok' }
  })
  const admin = { 'x-admin-token': 'ok' }
  for (const url of ['/products/1', '/products/2', '/about']) await app.ssr.render(url)

  // GET belongs to the app's catch-all page route here; every other method has no route at this path.
  for (const method of ['POST', 'PUT', 'PATCH']) {
    const res = await get('/_ssr/cache', { method, headers: admin })
    t.equal(res.status, 404, `${method} is not a purge`)
  }
  t.equal((await app.ssr.render('/about')).cache, 'HIT-HOT', 'still cached after wrong methods')

  const stranger = await get('/_ssr/cache', { method: 'DELETE' })
  t.equal(stranger.status, 401)
  t.equal((await app.ssr.render('/about')).cache, 'HIT-HOT', 'still cached after a refused purge')

  const byPrefix = await get('/_ssr/cache?prefix=/products/', { method: 'DELETE', headers: admin })
  t.same(await byPrefix.json(), { removed: 2, prefix: '/products/' })
  t.equal((await app.ssr.render('/products/1')).cache, 'MISS')
  t.equal((await app.ssr.render('/about')).cache, 'HIT-HOT')

  const all = await get('/_ssr/cache', { method: 'DELETE', headers: admin })
  t.same(await all.json(), { removed: 2 })
  t.equal((await app.ssr.render('/about')).cache, 'MISS')
})
