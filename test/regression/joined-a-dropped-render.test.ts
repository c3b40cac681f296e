import { test } from 'tap'
import { rejection } from '../helpers/engine'
import { fakeEngine, html } from '../helpers/fake-engine'

// A request that arrived in the same turn as the last waiter's abort, before the drop settled, joined the render
// being dropped and failed with the engine's internal "no client waits for this render": a 500 for a client still
// there (seen with engine.serve / fastify.ssr.render called again right after an aborted call; real workers too).

test('a request joining a queued render just dropped for want of clients gets a render of its own', async (t) => {
  const { engine, renderer } = fakeEngine(t, {}, { queued: true })
  const leaving = new AbortController()
  const left = rejection(t, engine.serve('/page', undefined, { signal: leaving.signal }))
  const dropped = await renderer.called(1)
  leaving.abort(new Error('client gone'))
  // Same turn: the dropped flight has not settled yet, so this call joins it.
  const staying = engine.serve('/page')
  t.equal(engine.counters.coalesced, 1, 'it joined the render being dropped')
  t.equal((await left).message, 'client gone')
  const own = await renderer.called(2)
  t.equal(dropped.settled, true, 'the first render was dropped')
  own.start()
  own.resolve({ html: 'rendered anew' })
  const page = await staying
  t.equal(page.cache, 'MISS')
  t.equal(html(page), 'rendered anew')
  t.equal((await engine.serve('/page')).cache, 'HIT-HOT', 'and stored')
})

test('a joiner that leaves too is not rendered again', async (t) => {
  const { engine, renderer } = fakeEngine(t, {}, { queued: true })
  const first = new AbortController()
  const second = new AbortController()
  const one = rejection(t, engine.serve('/page', undefined, { signal: first.signal }))
  const two = rejection(t, engine.serve('/page', undefined, { signal: second.signal }))
  await renderer.called(1)
  first.abort(new Error('first gone'))
  second.abort(new Error('second gone'))
  t.equal((await one).message, 'first gone')
  t.equal((await two).message, 'second gone')
  t.equal(renderer.calls.length, 1, 'no render for callers who left')
})
