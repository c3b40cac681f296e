import { test } from 'tap'
import { bundle, startApp } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { guardMainThread } from './helpers/guard'

// The heap limit leaves room for the worker itself (and, under tap, the TypeScript loader it inherits): too small a
// limit fails at start-up, which is FST_SSR_BUNDLE_LOAD, not what this test is about.
const faults = {
  '/exit': { what: 'process.exit() from the bundle', options: {} },
  '/oom': { what: 'heap exhaustion under maxHeapMb', options: { maxHeapMb: 256 } }
}

for (const [path, { what, options }] of Object.entries(faults)) {
  test(`${what} fails only its request with FST_SSR_WORKER_CRASHED; the replaced worker serves the next`, async (t) => {
    guardMainThread(t)
    const { engine } = await startEngine(t, { bundle: bundle('crash.js'), ...options })
    const error = await rejection(t, engine.serve(path))
    t.equal(error.code, 'FST_SSR_WORKER_CRASHED')
    t.equal(error.statusCode, 500)
    t.equal(engine.poolStats().workerRestarts, 1)
    t.equal(engine.snapshot().renders.crashes, 1)
    const next = await engine.serve('/next')
    t.equal(next.bodies.identity.toString(), '<main>ok /next</main>')
    t.equal(engine.poolStats().workerRestarts, 1, 'one restart, no more')
  })
}

test('over HTTP a crashed worker is a 500 FST_SSR_WORKER_CRASHED that reveals nothing; the next request gets 200', async (t) => {
  guardMainThread(t)
  const { get } = await startApp(t, { bundle: bundle('crash.js') })
  const res = await get('/exit')
  t.equal(res.status, 500)
  t.same(await res.json(), { statusCode: 500, code: 'FST_SSR_WORKER_CRASHED', error: 'Internal Server Error', message: 'Render worker crashed' })
  const next = await get('/next')
  t.equal(next.status, 200)
  t.equal(await next.text(), '<main>ok /next</main>')
})

const afterReturn = {
  '/timer-throw': { what: 'a throw from a timer', message: 'thrown from a timer after the render returned' },
  '/late-reject': { what: 'an unhandled rejection', message: 'rejected, unhandled, after the render returned' }
}

for (const [path, { what, message }] of Object.entries(afterReturn)) {
  test(`${what} after the render returned: the page is served, the worker is replaced and logged`, async (t) => {
    guardMainThread(t)
    let died: () => void = () => {}
    const workerDied = new Promise<void>((resolve) => { died = resolve })
    const { engine, lines } = await startEngine(t, { bundle: bundle('crash.js') }, (line) => {
      if (line.message === 'SSR worker died outside a render; it was replaced') died()
    })
    const page = await engine.serve(path)
    t.equal(page.bodies.identity.toString(), `<main>returned ${path}</main>`, 'the render had returned before the fault')
    await workerDied
    // Besides the startup line (info), exactly this one.
    t.match(lines.filter((line) => line.level !== 'info'), [{ level: 'error', object: { err: { message } } }])
    t.equal(engine.poolStats().workerRestarts, 1)
    t.equal((await engine.serve('/next')).status, 200)
    t.equal((await engine.serve(path)).cache, 'HIT-HOT', 'the page it returned was kept')
  })
}

test('a render nobody waits for any more is dropped while queued, and no worker is lost', async (t) => {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js') })
  const held = engine.serve('/hold/busy')
  await gate.started('/hold/busy')
  const client = new AbortController()
  const queued = engine.serve('/queued', undefined, { signal: client.signal })
  client.abort(new Error('client closed the connection'))
  t.match(await rejection(t, queued), { message: 'client closed the connection' })
  gate.release('/hold/busy')
  await held
  const log = JSON.parse((await engine.serve('/log', undefined, { cache: false })).bodies.identity.toString()) as string[]
  t.same(log, ['/hold/busy'], '/queued was never rendered')
  t.equal(engine.poolStats().workerRestarts, 0)
  const again = await engine.serve('/queued')
  t.equal(again.cache, 'MISS', 'a later request renders it afresh')
  t.equal(again.bodies.identity.toString(), '<main>/queued</main>')
})

test('a render already running when its last client leaves finishes and is cached: stopping it would cost a worker', async (t) => {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js') })
  const client = new AbortController()
  const leaving = engine.serve('/hold/page', undefined, { signal: client.signal })
  await gate.started('/hold/page')
  client.abort(new Error('client closed the connection'))
  await rejection(t, leaving)
  // A request arriving meanwhile joins the render still running instead of starting another.
  const joined = engine.serve('/hold/page')
  gate.release('/hold/page')
  t.equal((await joined).bodies.identity.toString(), '<main>/hold/page</main>')
  t.equal((await engine.serve('/hold/page')).cache, 'HIT-HOT')
  t.equal(engine.poolStats().workerRestarts, 0)
})

/** A server (startApp) whose `aborted` resolves once Fastify has seen a client abort its request. */
async function appHearingAborts (t: Parameters<typeof startApp>[0], options: Parameters<typeof startApp>[1]) {
  let sawAbort: () => void = () => {}
  const aborted = new Promise<void>((resolve) => { sawAbort = resolve })
  const started = await startApp(t, options, undefined, (app) => {
    app.addHook('onRequestAbort', (request, done) => { sawAbort(); done() })
  })
  return { ...started, aborted }
}

test('over HTTP a client that disconnects mid-render leaves the render to the other waiter, with no unhandled rejection', async (t) => {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { get, aborted } = await appHearingAborts(t, { bundle: bundle('gate.js') })
  const leaver = new AbortController()
  const first = get('/hold/shared', { signal: leaver.signal }).catch((error: Error) => error)
  await gate.started('/hold/shared')
  const second = get('/hold/shared')
  leaver.abort()
  t.equal((await first as Error).name, 'AbortError')
  await aborted
  gate.release('/hold/shared')
  const res = await second
  t.equal(res.status, 200)
  t.equal(await res.text(), '<main>/hold/shared</main>')
  t.equal((await get('/hold/shared')).headers.get('x-ssr-cache'), 'HIT-HOT')
})

test('over HTTP with the cache off, a client that leaves while its render waits has it dropped, never rendered', async (t) => {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { app, get, aborted } = await appHearingAborts(t, { bundle: bundle('gate.js'), cache: false })
  const held = get('/hold/busy')
  await gate.started('/hold/busy')
  const leaver = new AbortController()
  const leaving = get('/queued', { signal: leaver.signal }).catch((error: Error) => error)
  // Handed to the pool, behind the held render (in its queue, or waiting in the busy worker's port).
  while (app.ssr.metrics().renders.total < 2) await new Promise((resolve) => setImmediate(resolve))
  leaver.abort()
  t.equal((await leaving as Error).name, 'AbortError')
  await aborted
  while (app.ssr.metrics().renders.cancelled < 1) await new Promise((resolve) => setImmediate(resolve))
  gate.release('/hold/busy')
  t.equal((await held).status, 200)
  t.same(JSON.parse(await (await get('/log')).text()), ['/hold/busy'], '/queued was never rendered')
  t.equal(app.ssr.metrics().renders.cancelled, 1, 'counted as cancelled')
  t.equal(app.ssr.metrics().renders.workerRestarts, 0, 'and no worker was lost')
})
