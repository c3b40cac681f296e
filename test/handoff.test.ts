import { test } from 'tap'
import { ReplyPoller, defaultSpinUs, spinFor } from '../dist/render/handoff.js'
import { nextCount } from '../dist/render/protocol.js'
import { bundle } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { guardMainThread } from './helpers/guard'

/** `turns` turns of the event loop: long enough for a poller that should not run to have shown that it does. */
async function turns (count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

test('spinFor returns what it looked for as soon as it is there, or undefined once the window has passed', async (t) => {
  let looks = 0
  t.equal(spinFor(10_000, () => ++looks === 5 ? 'found' : undefined), 'found')
  t.equal(looks, 5, 'it stopped looking once it found')
  looks = 0
  t.equal(spinFor(200, () => { looks++; return undefined }), undefined)
  t.ok(looks >= 1, 'looked at least once in the window')
  looks = 0
  t.equal(spinFor(0, () => { looks++; return 'never asked' }), undefined, 'a window of 0 never looks')
  t.equal(looks, 0)
})

test('a message count advances as Atomics.add does on the shared one, past 2³¹ too', async (t) => {
  const shared = new Int32Array(1)
  let count = 0
  for (const start of [0, 41, 2 ** 31 - 2, -1]) {
    Atomics.store(shared, 0, start)
    count = start
    for (let i = 0; i < 3; i++) {
      Atomics.add(shared, 0, 1)
      count = nextCount(count)
      t.equal(count, Atomics.load(shared, 0), `from ${start}, step ${i + 1}`)
    }
  }
})

test('the default window is 50 µs when there are more CPUs than workers, else none', async (t) => {
  const { availableParallelism } = await import('node:os')
  const cpus = availableParallelism()
  t.equal(defaultSpinUs(cpus), 0, 'a worker on every CPU: no polling')
  t.equal(defaultSpinUs(cpus + 1), 0)
  t.equal(defaultSpinUs(cpus - 1), cpus > 1 ? 50 : 0, 'a CPU to spare: polling')
})

test('the main thread polls for a reply while a short render runs, its event loop turning between polls', async (t) => {
  let polls = 0
  let arrived = false
  const poller = new ReplyPoller(1_000_000, () => {
    polls++
    return !arrived
  }, () => null)
  t.teardown(() => poller.stop())
  const seen = new Promise<void>((resolve) => {
    // The "reply" comes from a timer: it can only arrive if the poller lets the event loop turn.
    setTimeout(() => {
      arrived = true
      resolve()
    }, 5)
  })
  poller.started()
  await seen
  await turns(3)
  const settled = polls
  t.ok(settled > 1, `polled while waiting (${settled} polls)`)
  await turns(5)
  t.equal(polls, settled, 'no poll once nothing is out')
})

test('no polling when renders are typically longer than the window, or with a window of 0', async (t) => {
  let polls = 0
  // 2 ms renders: a wake costs less than spinning through one
  const long = new ReplyPoller(50, () => { polls++; return true }, () => 2)
  long.started()
  const off = new ReplyPoller(0, () => { polls++; return true }, () => null)
  off.started()
  await turns(5)
  t.equal(polls, 0)
  long.stop()
  off.stop()
})

test('a render longer than the window: the poller gives up at the window and the thread may sleep', async (t) => {
  let polls = 0
  const poller = new ReplyPoller(500, () => { polls++; return true }, () => null)
  t.teardown(() => poller.stop())
  poller.started()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const after = polls
  t.ok(after > 0, 'it polled')
  await new Promise((resolve) => setTimeout(resolve, 20))
  await turns(5)
  t.equal(polls, after, 'and stopped once 500 µs had passed')
})

test('stop() ends a poll in progress', async (t) => {
  let polls = 0
  const poller = new ReplyPoller(1_000_000, () => { polls++; return true }, () => null)
  poller.started()
  await turns(3)
  poller.stop()
  const stopped = polls
  await turns(5)
  t.equal(polls, stopped)
})

// Both sides polling for a long window (2 ms) or never: every render is answered, in order, by the right reply.
for (const spinUs of [0, 2000]) {
  test(`with handoffSpinUs ${spinUs}, sequential and concurrent renders each get their own page`, async (t) => {
    const { engine } = await startEngine(t, { bundle: bundle('counter.js'), handoffSpinUs: spinUs, cache: false })
    for (let i = 0; i < 30; i++) {
      const page = await engine.serve(`/seq/${i}`, { i })
      t.match(page.bodies.identity.toString(), `url=/seq/${i} `)
      t.match(page.bodies.identity.toString(), `data={"i":${i}}`)
    }
    const pages = await Promise.all(Array.from({ length: 40 }, async (_, i) => await engine.serve(`/par/${i}`, { i })))
    pages.forEach((page, i) => t.match(page.bodies.identity.toString(), `url=/par/${i} `))
    t.equal(engine.snapshot().renders.succeeded, 70)
  })

  test(`with handoffSpinUs ${spinUs}, a stuck render still times out and what waited behind it renders`, async (t) => {
    guardMainThread(t)
    const { engine } = await startEngine(t, { bundle: bundle('hang.js'), renderTimeout: 300, handoffSpinUs: spinUs })
    const stuck = engine.serve('/spin')
    const queued = engine.serve('/after', undefined, { renderTimeout: 60_000 })
    t.equal((await rejection(t, stuck)).code, 'FST_SSR_RENDER_TIMEOUT')
    t.equal((await queued).bodies.identity.toString(), '<main>ok /after</main>')
    t.equal(engine.poolStats().workerRestarts, 1)
  })
}
