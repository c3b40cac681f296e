import Fastify from 'fastify'
import { test } from 'tap'
import { Agent, request } from 'undici'
import ssrPlugin from '../dist/index.js'
import { admit, retryAfterSeconds } from '../dist/render/admission.js'
import { bundle, startApp } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { guardMainThread } from './helpers/guard'

test('admit refuses once threads + maxQueue renders are in flight, with Retry-After', async (t) => {
  const limits = { maxQueue: 32, retryAfter: null }
  t.doesNotThrow(() => admit({ inFlight: 33, threads: 2, recentWaitMs: 0 }, limits), '31 waiting: one more makes 32')
  const error = await rejection(t, (async () => admit({ inFlight: 34, threads: 2, recentWaitMs: 2500 }, limits))())
  t.equal(error.code, 'FST_SSR_QUEUE_FULL')
  t.equal(error.statusCode, 503)
  t.equal(error.retryAfter, 3, 'the measured wait, rounded up to whole seconds')
  t.doesNotThrow(() => admit({ inFlight: 1, threads: 2, recentWaitMs: 0 }, { maxQueue: 0, retryAfter: null }),
    'maxQueue 0 still admits a render a free thread takes at once')
  t.throws(() => admit({ inFlight: 2, threads: 2, recentWaitMs: 0 }, { maxQueue: 0, retryAfter: null }), { code: 'FST_SSR_QUEUE_FULL' })
  t.throws(() => admit({ inFlight: 2, threads: 2, recentWaitMs: 90_000 }, { maxQueue: 0, retryAfter: 7 }), { retryAfter: 7 },
    'retryAfter fixes the value')
})

test('retryAfterSeconds rounds the wait up to whole seconds, never below 1', async (t) => {
  t.equal(retryAfterSeconds(0), 1)
  t.equal(retryAfterSeconds(999), 1)
  t.equal(retryAfterSeconds(1000), 1)
  t.equal(retryAfterSeconds(1001), 2)
  t.equal(retryAfterSeconds(4500), 5)
})

test('a full queue refuses new renders at once, and never a cache hit or a render already in flight', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js'), maxQueue: 2 })
  await engine.serve('/cached')
  const held = engine.serve('/hold/a')
  await gate.started('/hold/a')
  const queued = [engine.serve('/b'), engine.serve('/c')]
  const refused = await rejection(t, engine.serve('/d'))
  t.equal(refused.code, 'FST_SSR_QUEUE_FULL')
  t.equal(refused.statusCode, 503)
  t.ok(Number.isInteger(refused.retryAfter) && (refused.retryAfter ?? 0) >= 1, 'carries whole Retry-After seconds')
  t.equal((await engine.serve('/cached')).cache, 'HIT-HOT', 'a hit is served while the queue is full')
  const joined = engine.serve('/hold/a')
  gate.release('/hold/a')
  t.equal((await joined).bodies.identity.toString(), '<main>/hold/a</main>', 'joining a render in flight adds no work and is not refused')
  t.equal((await held).status, 200)
  for (const page of await Promise.all(queued)) t.equal(page.status, 200, 'what was admitted completes')
  t.equal((await engine.serve('/e')).status, 200, 'admitted again once the queue drained')
  t.equal(engine.snapshot().renders.rejected, 1)
})

test('Retry-After follows the measured queue wait', async (t) => {
  const { engine } = await startEngine(t, { bundle: bundle('counter.js'), maxQueue: 8 })
  // Eight renders wait behind one that takes 1.5 s: each waits at least that long, which the estimate learns.
  const slow = engine.serve('/slow', { delay: 1500 })
  const waited = Array.from({ length: 8 }, (_, i) => engine.serve(`/waited/${i}`))
  await Promise.all([slow, ...waited])
  // Fill the queue again; the refusal comes in the same turn, before any of these renders is measured.
  const burst = Array.from({ length: 9 }, (_, i) => engine.serve(`/burst/${i}`))
  const refused = await rejection(t, engine.serve('/refused'))
  t.equal(refused.code, 'FST_SSR_QUEUE_FULL')
  t.ok((refused.retryAfter ?? 0) >= 2, `Retry-After ${refused.retryAfter} reflects waits of more than a second`)
  await Promise.all(burst)
})

test('over HTTP a shed request is a 503 FST_SSR_QUEUE_FULL with Retry-After; a hit is still a 200', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { get } = await startApp(t, { bundle: bundle('gate.js'), maxQueue: 0, retryAfter: 7 })
  t.equal((await get('/cached')).status, 200)
  const held = get('/hold/x')
  await gate.started('/hold/x')
  const res = await get('/other')
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '7')
  t.same(await res.json(), { statusCode: 503, code: 'FST_SSR_QUEUE_FULL', error: 'Service Unavailable', message: 'Render queue is full, retry later' })
  const hit = await get('/cached')
  t.equal(hit.status, 200)
  t.equal(hit.headers.get('x-ssr-cache'), 'HIT-HOT')
  gate.release('/hold/x')
  t.equal((await held).status, 200)
})

test('2,000 concurrent requests for distinct pages get only 200s and 503s with Retry-After, then a 200', async (t) => {
  guardMainThread(t)
  const app = Fastify({ logger: false })
  await app.register(ssrPlugin, { bundle: bundle('counter.js'), threads: 2, maxQueue: 32 })
  // Each render takes 20 ms, so two threads cannot keep up and the queue of 32 fills: shedding is certain.
  app.get('/*', (request, reply) => reply.ssr(request.url, { delay: 20 }))
  t.teardown(() => app.close())
  // Node's default backlog of 511 would drop most of 2,000 simultaneous SYNs, and their retries come a second later.
  const base = await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 })
  const agent = new Agent({ connections: null, pipelining: 1 })
  t.teardown(() => agent.close())
  const statuses = new Map<number, number>()
  const problems: string[] = []
  await Promise.all(Array.from({ length: 2000 }, async (_, i) => {
    const res = await request(`${base}/page/${i}`, { dispatcher: agent })
    const body = await res.body.text()
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (res.statusCode === 503) {
      const retryAfter = res.headers['retry-after']
      if (typeof retryAfter !== 'string' || !/^[1-9]\d*$/.test(retryAfter)) problems.push(`503 with Retry-After ${String(retryAfter)}`)
      if (JSON.parse(body).code !== 'FST_SSR_QUEUE_FULL') problems.push(`503 with ${body}`)
    } else if (res.statusCode !== 200) {
      problems.push(`${res.statusCode}: ${body}`)
    }
  }))
  t.same(problems, [], 'nothing but 200s and 503s with Retry-After')
  t.same([...statuses.keys()].sort(), [200, 503], `both answers occur: ${JSON.stringify([...statuses])}`)
  t.equal((statuses.get(200) ?? 0) + (statuses.get(503) ?? 0), 2000)
  const after = await request(`${base}/page/after`, { dispatcher: agent })
  await after.body.text()
  t.equal(after.statusCode, 200, 'served again once the burst is over')
})
