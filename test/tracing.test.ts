import { test, type Test } from 'tap'
import { tracingChannel } from 'node:diagnostics_channel'
import { tracingChannels } from '../dist/index.js'
import { bundle, startApp } from './helpers/app'
import { Gate } from './helpers/gate'

type Event = [channel: string, event: string, context: Record<string, unknown>]

/** Subscribes to the plugin's four TracingChannels for the test; every event lands in the returned list. */
function record (t: Test): Event[] {
  const events: Event[] = []
  for (const [channel, name] of Object.entries(tracingChannels)) {
    const handlers = Object.fromEntries(['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) =>
      [event, (context: Record<string, unknown>) => { events.push([channel, event, context]) }]))
    const traced = tracingChannel(name)
    traced.subscribe(handlers as never)
    t.teardown(() => traced.unsubscribe(handlers as never))
  }
  return events
}

const of = (events: Event[], channel: string, event?: string): Event[] => events.filter(([c, e]) => c === channel && (event === undefined || e === event))

test('the render lifecycle is published on diagnostics_channel: lookup, queue wait, render, store', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const events = record(t)
  const { app } = await startApp(t, { bundle: bundle('gate.js') })
  t.same(tracingChannels, { lookup: 'fastify-ssr-engine:lookup', queue: 'fastify-ssr-engine:queue', render: 'fastify-ssr-engine:render', store: 'fastify-ssr-engine:store' })

  // One thread: the first render holds it, the second waits in the queue.
  const held = app.inject('/hold/first')
  await gate.started('/hold/first')
  const queued = app.inject('/second')
  while (of(events, 'queue', 'start').length === 0) await new Promise((resolve) => setImmediate(resolve))
  t.match(of(events, 'queue', 'start')[0][2], { url: '/second', queued: 0 })
  t.equal(of(events, 'queue', 'asyncEnd').length, 0, 'still waiting')
  gate.release('/hold/first')
  t.equal((await held).statusCode, 200)
  t.equal((await queued).statusCode, 200)
  t.equal(of(events, 'queue', 'asyncEnd').length, 1, 'the wait ended when a worker took it')

  const renders = of(events, 'render', 'asyncEnd').map(([, , context]) => context)
  t.match(renders, [{ url: '/hold/first', result: { status: 200 } }, { url: '/second', result: { status: 200 } }])
  t.match(of(events, 'store', 'start').map(([, , context]) => context), [{ tier: 'local', url: '/hold/first', bytes: Number }, { tier: 'local', url: '/second' }])
  t.match(of(events, 'lookup', 'end').map(([, , context]) => context), [{ tier: 'local', url: '/hold/first', cache: 'MISS' }, { tier: 'local', url: '/second', cache: 'MISS' }])

  const hit = await app.inject('/second')
  t.equal(hit.headers['x-ssr-cache'], 'HIT-HOT')
  t.match(of(events, 'lookup', 'end').at(-1)?.[2], { url: '/second', cache: 'HIT-HOT' }, 'a hit is one lookup, and nothing else')
  t.equal(of(events, 'render', 'start').length, 2)
  // Each operation's events share one context object, so a subscriber can tie start to end.
  const [start] = of(events, 'render', 'start')
  t.equal(of(events, 'render', 'asyncEnd')[0][2], start[2])
})

test('a failed render ends its span with the coded error', async (t) => {
  const events = record(t)
  const { app } = await startApp(t, { bundle: bundle('throws.js') })
  t.equal((await app.inject('/boom')).statusCode, 500)
  const [failure] = of(events, 'render', 'error')
  t.match(failure[2], { url: '/boom', error: { code: 'FST_SSR_RENDER_FAILED' } })
  t.equal(of(events, 'store').length, 0, 'nothing stored')
})
