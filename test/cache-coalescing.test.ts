import { test } from 'tap'
import { bundle, startApp } from './helpers/app'
import { Gate } from './helpers/gate'
import { until } from './helpers/until'

const counter = bundle('counter.js')

test('200 simultaneous misses for one page cause exactly one render', async (t) => {
  // One thread, so the bundle's own render counter sees every render.
  const { app, get } = await startApp(t, { bundle: counter, threads: 1 }, { delay: 50 })
  const responses = await Promise.all(Array.from({ length: 200 }, async () => await get('/hot-page')))
  const bodies = await Promise.all(responses.map(async (res) => await res.text()))
  t.ok(responses.every((res) => res.status === 200))
  t.equal(new Set(bodies).size, 1, 'everyone got the same page')
  t.match(bodies[0], 'renders=1 ')
  t.equal(app.ssr.metrics().renders.total, 1)
  t.equal(app.ssr.metrics().cache?.coalesced, responses.filter((res) => res.headers.get('x-ssr-cache') === 'MISS').length - 1)
  const next = await app.ssr.render('/another', undefined, { cache: false })
  t.match(next.html, 'renders=2 ', 'the bundle rendered once for the 200 requests')
})

test('when the shared render fails, every waiter gets the error and nothing is stored', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { app, get } = await startApp(t, { bundle: bundle('gate.js'), threads: 1 })
  const url = '/hold/fail-together'
  const responses = Promise.all(Array.from({ length: 50 }, async () => await get(url)))
  // The render fails only once all 50 requests wait for it, however slowly they arrive on a busy machine.
  await gate.started(url)
  await until(() => app.ssr.metrics().cache?.coalesced === 49)
  gate.release(url)
  t.ok((await responses).every((res) => res.status === 500))
  t.equal(app.ssr.metrics().renders.total, 1)
  t.equal(app.ssr.metrics().cache?.insertions, 0)
  const next = get(url)
  await gate.started(url, 2)
  gate.release(url)
  t.equal((await next).status, 500)
  t.equal(app.ssr.metrics().renders.total, 2, 'the next request renders again')
})

for (const [name, act] of [
  ['clear', (ssr: { clear: () => number }) => ssr.clear()],
  ['invalidate', (ssr: { invalidate: (url: string, data?: unknown) => boolean }) => ssr.invalidate('/slow', { delay: 30 })],
  ['invalidatePrefix', (ssr: { invalidatePrefix: (prefix: string) => number }) => ssr.invalidatePrefix('/sl')]
] as const) {
  test(`${name} during a render wins: that render's result is not stored`, async (t) => {
    const { app } = await startApp(t, { bundle: counter })
    const rendering = app.ssr.render('/slow', { delay: 30 })
    act(app.ssr as never)
    t.equal((await rendering).cache, 'MISS')
    t.equal((await app.ssr.render('/slow', { delay: 30 })).cache, 'MISS', 'it was not stored')
    t.equal((await app.ssr.render('/slow', { delay: 30 })).cache, 'HIT-HOT', 'a render after the clear is stored')
  })
}

test('an invalidation of another page does not stop a render from being stored', async (t) => {
  const { app } = await startApp(t, { bundle: counter })
  const rendering = app.ssr.render('/slow', { delay: 30 })
  app.ssr.invalidate('/elsewhere')
  app.ssr.invalidatePrefix('/other')
  await rendering
  t.equal((await app.ssr.render('/slow', { delay: 30 })).cache, 'HIT-HOT')
})
