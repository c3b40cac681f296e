import { test, type Test } from 'tap'
import { tasksBehind } from '../dist/render/seats.js'
import { pipelineDepth, reached, skipEntry, Control } from '../dist/render/protocol.js'
import { bundle } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { guardMainThread } from './helpers/guard'

// While renders wait, a busy worker holds several tasks behind the one it runs (lib/render/seats.ts): those tasks
// are still the pool's, to withdraw when their client leaves or their deadline passes, and to take back for a worker
// left idle (lib/render/pool.ts).

type Engine = Awaited<ReturnType<typeof startEngine>>['engine']

/** Quick renders, so the pool learns that renders are short and lets a worker hold many of them. */
async function warmUp (engine: Engine, count = 30): Promise<void> {
  for (let i = 0; i < count; i++) await engine.serve(`/warm/${i}`, undefined, { cache: false })
}

/**
 * An engine on gate.js (`threads`, cache off) that has learned its renders are short, and the render it runs now,
 * `url`, held until the test releases it.
 */
async function holding (t: Test, url: string, threads = 1): Promise<{ engine: Engine, gate: Gate, held: ReturnType<Engine['serve']> }> {
  guardMainThread(t)
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js'), cache: false, threads })
  await warmUp(engine)
  const held = engine.serve(url, undefined, { cache: false, renderTimeout: 60_000 })
  await gate.started(url)
  return { engine, gate, held }
}

/** Lets every render asked for so far reach the pool (none of this test's has I/O on the way). */
async function handedOver (): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function renderedLog (engine: Engine): Promise<string[]> {
  return JSON.parse((await engine.serve('/log', undefined, { cache: false })).bodies.identity.toString()) as string[]
}

test('how many tasks a busy worker holds behind its render: a few ms of typical renders, at least one', async (t) => {
  t.equal(tasksBehind(null), 1, 'nothing learned yet: one, as before any render')
  t.equal(tasksBehind(0.05), pipelineDepth - 1, 'short renders: as many as the shared entries allow')
  t.equal(tasksBehind(1), 4)
  t.equal(tasksBehind(2), 2)
  t.equal(tasksBehind(50), 1, 'long renders: one, so a slow page holds up little')
  t.equal(tasksBehind(0), pipelineDepth - 1)
})

test('post numbers: every task a worker holds has a skip entry of its own, and the order survives the wrap', async (t) => {
  const entries = new Set<number>()
  for (let number = 2 ** 31 - 8; entries.size < pipelineDepth; number = (number + 1) | 0) entries.add(skipEntry(number))
  t.equal(entries.size, pipelineDepth)
  for (const entry of entries) t.ok(entry >= Control.skip && entry < Control.length, `entry ${entry} in range`)
  t.ok(reached(5, 5) && reached(6, 5) && !reached(4, 5))
  t.ok(reached(-(2 ** 31), 2 ** 31 - 1), 'the number after 2³¹-1 comes after it')
  t.notOk(reached(2 ** 31 - 1, -(2 ** 31)))
  t.notOk(reached(0, 1), 'before the first task, nothing is taken up')
})

test('tasks held behind a running render: all handed to the worker, the withdrawn ones never rendered', async (t) => {
  const { engine, gate, held } = await holding(t, '/hold/first')
  const clients = Array.from({ length: 10 }, () => new AbortController())
  const renders = clients.map(async (client, i) => await engine.serve(`/q/${i}`, undefined, { cache: false, signal: client.signal }))
  await handedOver()
  t.equal(engine.poolStats().queueSize, 0, 'none waits in the pool\'s queue: the worker holds all ten behind its render')
  const leaving = [2, 5, 7, 9]
  for (const i of leaving) clients[i].abort(new Error(`client ${i} left`))
  for (const i of leaving) t.match(await rejection(t, renders[i]), { message: `client ${i} left` })
  gate.release('/hold/first')
  t.equal((await held).status, 200)
  const kept = [0, 1, 3, 4, 6, 8]
  for (const i of kept) t.equal((await renders[i]).bodies.identity.toString(), `<main>/q/${i}</main>`)
  const log = (await renderedLog(engine)).filter((url) => !url.startsWith('/warm/'))
  t.same(log, ['/hold/first', ...kept.map((i) => `/q/${i}`)], 'rendered in order, the withdrawn ones skipped')
  t.equal(engine.poolStats().workerRestarts, 0, 'withdrawing a held task costs no worker')
})

test('a task held behind a running render fails alone at its deadline, without rendering or costing the worker', async (t) => {
  const { engine, gate, held } = await holding(t, '/hold/first')
  const patient = engine.serve('/patient', undefined, { cache: false, renderTimeout: 60_000 })
  const late = engine.serve('/late', undefined, { cache: false, renderTimeout: 50 })
  const after = engine.serve('/after', undefined, { cache: false, renderTimeout: 60_000 })
  await handedOver()
  t.equal(engine.poolStats().queueSize, 0, 'all three held by the worker')
  t.equal((await rejection(t, late)).code, 'FST_SSR_RENDER_TIMEOUT')
  gate.release('/hold/first')
  for (const [render, url] of [[held, '/hold/first'], [patient, '/patient'], [after, '/after']] as const) {
    t.equal((await render).bodies.identity.toString(), `<main>${url}</main>`)
  }
  const log = (await renderedLog(engine)).filter((url) => !url.startsWith('/warm/'))
  t.same(log, ['/hold/first', '/patient', '/after'], '/late was never rendered')
  t.equal(engine.poolStats().workerRestarts, 0)
})

test('a worker left idle takes back the tasks another holds behind a long render', async (t) => {
  const { engine, gate, held: slow } = await holding(t, '/hold/slow', 2)
  // Handed out at once, a busy worker taking some behind its render (the one that began first, when both hold as
  // many): without taking back, those would wait for /hold/slow, which is released only after all of them are done.
  const quick = Array.from({ length: 12 }, async (_, i) => await engine.serve(`/quick/${i}`, undefined, { cache: false }))
  const pages = await Promise.all(quick)
  pages.forEach((page, i) => t.equal(page.bodies.identity.toString(), `<main>/quick/${i}</main>`))
  t.equal(engine.snapshot().renders.succeeded, 30 + 12, 'every quick render done while /hold/slow still runs')
  gate.release('/hold/slow')
  t.equal((await slow).status, 200)
  t.equal(engine.poolStats().workerRestarts, 0)
  t.equal(engine.snapshot().renders.succeeded, 30 + 12 + 1, 'and each rendered once')
})

test('a worker that dies holding tasks behind its render: that render fails as a crash, the others render on its replacement', async (t) => {
  guardMainThread(t)
  const { engine } = await startEngine(t, { bundle: bundle('crash.js'), cache: false })
  await warmUp(engine)
  const dying = engine.serve('/exit', undefined, { cache: false })
  const behind = Array.from({ length: 6 }, async (_, i) => await engine.serve(`/after/${i}`, undefined, { cache: false }))
  t.equal((await rejection(t, dying)).code, 'FST_SSR_WORKER_CRASHED')
  const pages = await Promise.all(behind)
  pages.forEach((page, i) => t.equal(page.bodies.identity.toString(), `<main>ok /after/${i}</main>`, `/after/${i} rendered`))
  t.equal(engine.poolStats().workerRestarts, 1, 'one worker replaced')
  t.equal(engine.snapshot().renders.crashes, 1, 'one crash counted')
})
