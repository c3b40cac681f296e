import Fastify from 'fastify'
import { test } from 'tap'
import { Agent, request } from 'undici'
import ssrPlugin from '../dist/index.js'
import { bundle } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { guardMainThread } from './helpers/guard'

const text = (page: { bodies: { identity: Buffer } }): string => page.bodies.identity.toString()
const rendersOf = (html: string): number => Number(/renders=(\d+)/.exec(html)?.[1])

/** Resolves once `read()` reaches `count`. Workers exit in their own time; this waits for the event, not a delay. */
async function until (read: () => number, count: number): Promise<void> {
  while (read() < count) await new Promise((resolve) => setTimeout(resolve, 5))
}

test('a worker is replaced after maxRendersPerWorker renders: its counter starts again, and the restarts are counted', async (t) => {
  guardMainThread(t)
  // counter.js numbers the renders of its worker; one seat, so every render shows the count of the worker it ran on.
  const { engine } = await startEngine(t, { bundle: bundle('counter.js'), maxRendersPerWorker: 3 })
  const counts: number[] = []
  for (let i = 0; i < 10; i++) counts.push(rendersOf(text(await engine.serve(`/page/${i}`))))
  t.same(counts, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1])
  await until(() => engine.poolStats().workerRestarts, 3)
  t.equal(engine.poolStats().workerRestarts, 3, 'three workers rendered their share and went')
  t.equal(engine.snapshot().renders.workerRestarts, 3)
  t.equal(engine.snapshot().renders.succeeded, 10, 'and no render failed')
})

test('while a worker renders its last page, the warm spare serves the next request: nobody waits for a replacement', async (t) => {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js'), maxRendersPerWorker: 1 })
  t.equal(engine.poolStats().threads, 2, 'one seat and one spare')
  const last = engine.serve('/hold/last')
  await gate.started('/hold/last')
  // The worker holding /hold/last has had its one render: its seat went to the spare, which answers now.
  t.equal(text(await engine.serve('/next')), '<main>/next</main>')
  gate.release('/hold/last')
  t.equal(text(await last), '<main>/hold/last</main>', 'the retiring worker finished its render')
  await until(() => engine.poolStats().workerRestarts, 2)
  t.equal(engine.snapshot().renders.succeeded, 2)
})

test('data that cannot be cloned never reaches a worker: no worker spends a render on it, and recycling goes on', async (t) => {
  guardMainThread(t)
  const { engine } = await startEngine(t, { bundle: bundle('counter.js'), maxRendersPerWorker: 1 })
  // The pool posts a task only to an idle worker, and the post fails before anything reaches it.
  await rejection(t, engine.serve('/unclonable', { render: () => 'no' }))
  t.match(text(await engine.serve('/b')), 'renders=1 ', 'the first render that reached a worker was its first')
  t.match(text(await engine.serve('/c')), 'renders=1 ')
  // The worker that rendered /b and the one that rendered /c, each after its one render.
  await until(() => engine.poolStats().workerRestarts, 2)
  t.equal(engine.poolStats().workerRestarts, 2)
  t.equal(engine.poolStats().threads, 2)
})

test('under concurrent load with workers recycled every 25 renders, every request gets a 200', async (t) => {
  guardMainThread(t)
  const app = Fastify({ logger: false })
  // Under tap a worker takes most of a second to start (it loads tap's TypeScript hooks), against a fraction of a
  // millisecond per render here: workers retire faster than replacements start, so requests wait for them. The
  // deadline is lifted to keep this test about failures; waiting is the previous test's subject.
  await app.register(ssrPlugin, { bundle: bundle('counter.js'), threads: 2, maxRendersPerWorker: 25, renderTimeout: 120_000, cache: false })
  app.get('/*', (request, reply) => reply.ssr(request.url))
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const agent = new Agent({ connections: 32 })
  t.teardown(() => agent.close())
  const statuses = new Map<number, number>()
  let highest = 0
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const res = await request(`${base}/page/${i}`, { dispatcher: agent })
    const body = await res.body.text()
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    highest = Math.max(highest, rendersOf(body))
  }))
  t.same([...statuses], [[200, 200]])
  t.equal(highest, 25, 'workers rendered up to their share, and no more')
  // 200 renders in shares of 25: at least 200 / 25 - 3 workers (all but the two seated and the spare) used theirs.
  await until(() => app.ssr.metrics().renders.workerRestarts, 5)
  t.ok(app.ssr.metrics().renders.workerRestarts >= 5)
})
