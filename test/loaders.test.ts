import { test } from 'tap'
import { bundle, startApp } from './helpers/app'
import { clock, rejection, startEngine } from './helpers/engine'

// Lazy data (issue 15): `reply.ssr(url, loader)` calls the loader only when a render is needed.

const counter = bundle('counter.js')

test('100 hits and 50 concurrent misses of a loader page call the loader once', async (t) => {
  let calls = 0
  let arrived = 0
  let allArrived!: () => void
  const everyone = new Promise<void>((resolve) => { allArrived = resolve })
  const started = await startApp(t, { bundle: counter }, undefined, (app) => {
    app.get('/loaded/:id', (request, reply) => {
      if (++arrived === 50) allArrived()
      return reply.ssr(request.url, async (req: typeof request) => {
        calls++
        // Held until all 50 requests have reached the route, so they are all misses of one render.
        await everyone
        return { id: (req.params as { id: string }).id }
      })
    })
  })
  const misses = await Promise.all(Array.from({ length: 50 }, async () => await started.get('/loaded/7')))
  t.same(new Set(misses.map((res) => res.status)), new Set([200]))
  t.equal(misses.filter((res) => res.headers.get('x-ssr-cache') === 'MISS').length, 50, 'every one waited for the one render')
  const bodies = new Set(await Promise.all(misses.map(async (res) => await res.text())))
  t.same([...bodies], ['<p>url=/loaded/7 renders=1 data={"id":"7"}</p>'], 'the loader gave the request its params')
  for (let i = 0; i < 100; i++) {
    const res = await started.get('/loaded/7')
    t.equal(res.headers.get('x-ssr-cache'), 'HIT-HOT')
    await res.arrayBuffer()
  }
  t.equal(calls, 1, 'one loader call for 150 requests')
  t.equal(started.app.ssr.metrics().renders.total, 1)
})

test('a loader that throws or rejects is a 500 FST_SSR_DATA_FAILED that says nothing of it, logged, never cached', async (t) => {
  let calls = 0
  const logged: string[] = []
  const started = await startApp(t, { bundle: counter }, undefined, (app) => {
    app.addHook('onError', async (_request, _reply, error) => { logged.push(String((error as { cause?: unknown }).cause)) })
    app.get('/sync/*', (request, reply) => reply.ssr(request.url, () => { calls++; throw new Error('SECRET sync') }))
    app.get('/async/*', (request, reply) => reply.ssr(request.url, async () => { calls++; throw new Error('SECRET async') }))
    // A value whose `then` throws when read: looking at the value is part of loading it.
    app.get('/getter/*', (request, reply) => reply.ssr(request.url, () => { calls++; return { get then () { throw new Error('SECRET getter') } } }))
  })
  for (const path of ['/sync/a', '/async/a', '/getter/a', '/sync/a']) {
    const res = await started.get(path)
    const body = await res.text()
    t.equal(res.status, 500, path)
    t.match(JSON.parse(body), { code: 'FST_SSR_DATA_FAILED' })
    t.notMatch(body, /SECRET/, 'nothing of the message in the body')
    t.equal(res.headers.get('cache-control'), 'private, no-store')
  }
  t.equal(calls, 4, 'each request tried again: nothing was cached')
  t.equal(started.app.ssr.metrics().renders.total, 0, 'no render was started for data that never came')
})

test('a loader answering at once, or with a thenable that is not a promise, renders its value', async (t) => {
  const started = await startApp(t, { bundle: counter, cache: false }, undefined, (app) => {
    app.get('/now', (request, reply) => reply.ssr(request.url, () => ({ from: 'value' })))
    app.get('/thenable', (request, reply) => reply.ssr(request.url, () => ({ then (resolve: (value: unknown) => void) { setImmediate(() => resolve({ from: 'thenable' })) } })))
  })
  for (const [path, from] of [['/now', 'value'], ['/thenable', 'thenable']]) {
    const res = await started.get(path)
    t.equal(res.status, 200, path)
    t.match(await res.text(), from, `${path}: rendered with the loaded data`)
  }
})

test('a loader whose value cannot be cloned is FST_SSR_INVALID_DATA; app.ssr.render takes a loader, called with no request', async (t) => {
  const { app } = await startApp(t, { bundle: counter })
  const error = await rejection(t, app.ssr.render('/fn', () => ({ fn: () => 1 })))
  t.equal(error.code, 'FST_SSR_INVALID_DATA')
  let got: unknown = 'not called'
  const page = await app.ssr.render('/from-code', (...args: unknown[]) => { got = args[0]; return { n: 1 } })
  t.equal(got, undefined, 'no request')
  t.equal(page.html, '<p>url=/from-code renders=1 data={"n":1}</p>')
  t.equal((await app.ssr.render('/from-code', () => { throw new Error('not called on a hit') })).cache, 'HIT-HOT')
})

test('a loader that fails is covered by staleIfError, like a failed render', async (t) => {
  const time = clock()
  const { engine } = await startEngine(t, { bundle: counter, cache: { ttl: 10, staleIfError: 60 } }, undefined, time.now)
  let fail = false
  const loader = async (): Promise<unknown> => {
    if (fail) throw new Error('database down')
    return { v: 1 }
  }
  t.equal((await engine.serve('/p', loader)).cache, 'MISS')
  fail = true
  time.advance(11)
  const stale = await engine.serve('/p', loader)
  t.equal(stale.cache, 'STALE', 'the old page stood in for the failed load')
  t.match(String(stale.bodies.identity), 'data={"v":1}')
  time.advance(60)
  t.equal((await rejection(t, engine.serve('/p', loader))).code, 'FST_SSR_DATA_FAILED', 'past the window the error goes through')
})

test('a loader shares the render deadline: one that hangs is a 504', async (t) => {
  const { engine } = await startEngine(t, { bundle: counter, renderTimeout: 200 })
  const error = await rejection(t, engine.serve('/slow', async () => await new Promise(() => {})))
  t.equal(error.code, 'FST_SSR_RENDER_TIMEOUT')
})

test('a per-call vary with a bad name is FST_SSR_INVALID_OPTION, before anything renders', async (t) => {
  const { app } = await startApp(t, { bundle: counter })
  const error = await rejection(t, app.ssr.render('/v', undefined, { vary: ['bad name'] }))
  t.equal(error.code, 'FST_SSR_INVALID_OPTION')
  t.match(error.message, /"vary": expected header names/)
  t.equal(app.ssr.metrics().renders.total, 0)
})

test('a loader page whose data was loading when the close began still renders: it was admitted before', async (t) => {
  const { engine } = await startEngine(t, { bundle: counter })
  let release!: () => void
  const loading = new Promise<void>((resolve) => { release = resolve })
  const page = engine.serve('/closing', async () => { await loading; return { late: true } })
  const closing = engine.close()
  t.equal((await rejection(t, engine.serve('/new', () => ({})))).code, 'FST_SSR_CLOSING', 'a new one is refused')
  release()
  t.match(String((await page).bodies.identity), 'data={"late":true}')
  await closing
})
