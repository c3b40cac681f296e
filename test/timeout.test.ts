import { readFileSync } from 'node:fs'
import { test } from 'tap'
import { RenderPool } from '../dist/render/pool.js'
import { bundle, startApp } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { guardMainThread } from './helpers/guard'

const hangs = {
  '/spin': 'a synchronous while (true) {}',
  '/never': 'a promise that never settles',
  '/microtasks': 'an endless chain of microtasks'
}

for (const [path, what] of Object.entries(hangs)) {
  test(`${what} is stopped at the deadline with 504; a fresh worker renders what was queued behind it`, async (t) => {
    guardMainThread(t)
    const { engine } = await startEngine(t, { bundle: bundle('hang.js'), renderTimeout: 300 })
    const stuck = engine.serve(path)
    // Queued behind the stuck render on the only thread, with a deadline of its own far away.
    const queued = engine.serve('/after', undefined, { renderTimeout: 60_000 })
    const error = await rejection(t, stuck)
    t.equal(error.code, 'FST_SSR_RENDER_TIMEOUT')
    t.equal(error.statusCode, 504)
    const page = await queued
    t.equal(page.bodies.identity.toString(), '<main>ok /after</main>')
    t.equal(engine.poolStats().workerRestarts, 1, 'the stuck worker was terminated and replaced')
    t.equal(engine.snapshot().renders.timeouts, 1)
    t.equal((await engine.serve('/next')).status, 200)
  })
}

test('over HTTP a render past its per-call deadline is a 504 FST_SSR_RENDER_TIMEOUT', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('hang.js') }, undefined, (app) => {
    app.get('/short/*', (request, reply) => reply.ssr(request.url.slice('/short'.length), undefined, { renderTimeout: 200 }))
  })
  const res = await get('/short/never')
  t.equal(res.status, 504)
  t.same(await res.json(), { statusCode: 504, code: 'FST_SSR_RENDER_TIMEOUT', error: 'Gateway Timeout', message: 'Render timed out' })
  t.equal((await get('/fine')).status, 200)
})

test('nothing from a timed-out render is cached', async (t) => {
  const { engine } = await startEngine(t, { bundle: bundle('hang.js') })
  const error = await rejection(t, engine.serve('/never', undefined, { key: 'page', renderTimeout: 200 }))
  t.equal(error.code, 'FST_SSR_RENDER_TIMEOUT')
  const next = await engine.serve('/fine', undefined, { key: 'page' })
  t.equal(next.cache, 'MISS', 'the key holds nothing: the timed-out render stored nothing and left no flight to join')
  t.equal(next.bodies.identity.toString(), '<main>ok /fine</main>')
  t.equal((await engine.serve('/fine', undefined, { key: 'page' })).cache, 'HIT-HOT')
})

test('other requests are served while a stuck render runs and is stopped', async (t) => {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('hang.js'), threads: 2 })
  const stuck = rejection(t, engine.serve('/spin', undefined, { renderTimeout: 1000 }))
  await gate.started('/spin')
  for (const path of ['/a', '/b', '/c']) t.equal((await engine.serve(path)).status, 200, `${path} on the other thread`)
  t.equal((await stuck).code, 'FST_SSR_RENDER_TIMEOUT')
  for (const path of ['/d', '/e']) t.equal((await engine.serve(path)).status, 200, `${path} after the stop`)
})

test('the queue wait counts toward the deadline: a render that waited past it never runs', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js') })
  const held = engine.serve('/hold/first', undefined, { renderTimeout: 60_000 })
  await gate.started('/hold/first')
  const late = await rejection(t, engine.serve('/late', undefined, { renderTimeout: 50 }))
  t.equal(late.code, 'FST_SSR_RENDER_TIMEOUT', 'timed out while waiting for the busy thread')
  gate.release('/hold/first')
  t.equal((await held).status, 200)
  const log = JSON.parse((await engine.serve('/log', undefined, { cache: false })).bodies.identity.toString()) as string[]
  t.same(log, ['/hold/first'], '/late was never rendered')
  t.equal(engine.poolStats().workerRestarts, 0, 'dropping a queued render costs no worker')
  t.equal(engine.snapshot().renders.timeouts, 1)
})

test('a task that reaches its worker after its deadline is not rendered', async (t) => {
  const path = bundle('gate.js')
  const pool = new RenderPool({
    threads: 1,
    maxHeapMb: null,
    maxRendersPerWorker: null,
    workerData: { bundlePath: path, source: readFileSync(path, 'utf8'), cachedData: null, renderFunction: 'renderPage', globals: {}, compression: null }
  }, { workerError: (error) => t.fail(`worker error: ${String(error)}`) })
  t.teardown(() => pool.destroy())
  t.equal(await pool.ready(60_000), null, 'the bundle loaded')
  // The main thread's timer (the second deadline) would catch this task in the queue; here the task's own deadline
  // has passed already as it is handed over, as happens when the main thread is too busy to run the timer first.
  const later = Date.now() + 60_000
  const outcome = await pool.run([0, '/expired', null, Date.now() - 1, 0], later)
  t.match(outcome, { ok: false, reason: 'expired' })
  const log = await pool.run([0, '/log', null, later, 0], later)
  t.match(log, { ok: true })
  t.equal(log.ok && log.body, '[]', 'the bundle never rendered the late task')
})
