import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads'
import { isDeepStrictEqual } from 'node:util'
import { test } from 'tap'
import { FrozenValues } from '../dist/render/frozen-send.js'
import { FrozenStore } from '../dist/render/frozen-store.js'
import type { PostedTask, RenderTask } from '../dist/render/protocol.js'
import { bundle, startApp } from './helpers/app'

// Deeply frozen data goes to each worker once (lib/render/frozen-send.ts, frozen-store.ts). The messages here cross
// a real MessagePort, so they are copied exactly as a worker's are.

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

function deeplyFrozen (value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen)
}

/** A sender and a store joined by a MessagePort: `send(data)` is what the worker's render gets. */
function channel (perWorker?: number) {
  const values = new FrozenValues()
  const sender = values.sender(perWorker)
  const store = new FrozenStore()
  const { port1, port2 } = new MessageChannel()
  let id = 0
  const messages: PostedTask[] = []
  return {
    sender,
    store,
    messages,
    send (data: unknown, commit = true): unknown {
      const task: RenderTask = [++id, '/', data, Date.now() + 1000, 0]
      const message = sender.message(task)
      port1.postMessage(message)
      if (commit) sender.commit()
      const received = receiveMessageOnPort(port2)?.message as PostedTask
      // As it arrived: the store puts the frozen values into the posted data.
      messages.push(structuredClone(received))
      return store.dataOf(received)
    },
    close () {
      port1.close()
      values.drop(sender)
    }
  }
}

const catalog = deepFreeze({ products: [{ id: 'a', price: 100 }, { id: 'b', price: 250, tags: ['x'] }], currency: 'EUR' })

test('frozen values at the top of the data are sent once, then named by number', async (t) => {
  const link = channel()
  t.teardown(() => link.close())
  const first = link.send({ catalog, page: 1 }) as { catalog: unknown, page: number }
  const second = link.send({ catalog, page: 2 }) as { catalog: unknown, page: number }
  t.ok(isDeepStrictEqual(first, structuredClone({ catalog, page: 1 })), 'the render gets what a copy would give')
  t.ok(isDeepStrictEqual(second, structuredClone({ catalog, page: 2 })))
  t.equal(first.catalog, second.catalog, 'the same object on both renders')
  t.ok(deeplyFrozen(second.catalog), 'frozen again in the worker, as the route passed it')
  t.notOk(Object.isFrozen(second), 'the unfrozen top level is a fresh copy')
  const [sentFirst, sentSecond] = link.messages
  t.equal(sentFirst[5]?.[3].length, 2, 'the first message carries the catalog')
  t.same(sentSecond[5]?.[3], [], 'the second names it only')
  t.equal((sentSecond[2] as { catalog: unknown }).catalog, null, 'no copy of it crosses')
  t.equal(link.store.size, 1)
})

test('data that is one frozen value is sent once too; one value in two places stays one object', async (t) => {
  const link = channel()
  t.teardown(() => link.close())
  const whole = link.send(catalog)
  t.equal(link.send(catalog), whole, 'the same object')
  t.ok(isDeepStrictEqual(whole, catalog))
  t.equal(link.messages[1][2], null, 'the second message carries no data')
  const twice = link.send({ a: catalog.products, n: 7, b: catalog.products }) as { a: unknown, b: unknown }
  t.ok(isDeepStrictEqual(twice, { a: catalog.products, n: 7, b: catalog.products }))
  t.equal(twice.a, twice.b, 'one value in two places stays one object, as a copy keeps it')
})

test('data with nothing frozen at its top goes as it is; so does anything but a plain object or a dense array', async (t) => {
  const link = channel()
  t.teardown(() => link.close())
  const nested = { deep: { catalog } }
  class Box { constructor (readonly catalog: unknown) {} }
  let reads = 0
  for (const [name, data] of Object.entries({
    unfrozen: { page: 1, user: { name: 'n' } },
    'frozen only deeper down': nested,
    map: new Map([['catalog', catalog]]),
    'class instance': new Box(catalog),
    'an array, even of frozen values': [catalog, catalog.products],
    'a getter at the top': { frozen: catalog, get lazy () { reads++; return catalog } },
    string: 'text',
    null: null
  })) {
    const task: RenderTask = [1, '/', data, 0, 0]
    const message = link.sender.message(task)
    t.equal(message[2], data, `${name}: the data itself is posted`)
    t.equal(message[5], null, `${name}: nothing named`)
  }
  t.equal(reads, 0, 'no getter ran: it runs once, in postMessage\'s copy')
})

test('what the data does to itself stays: a self reference, an own __proto__', async (t) => {
  const link = channel()
  t.teardown(() => link.close())
  const looped: Record<string, unknown> = { catalog }
  looped.self = looped
  const received = link.send(looped) as Record<string, unknown>
  t.equal(received.self, received, 'it still holds itself')
  t.not(link.messages[0][5], null, 'its frozen value was named, not copied')
  t.equal(received.catalog, (link.send({ catalog }) as { catalog: unknown }).catalog, 'the same object later renders get')

  // The one difference from a copy, documented in frozen-send.ts: a cycle through the top from deeper down.
  const deep: Record<string, unknown> = { catalog, user: { name: 'n' } }
  ;(deep.user as Record<string, unknown>).data = deep
  const got = link.send(deep) as { catalog: unknown, user: { data: { catalog: unknown } } }
  t.not(got.user.data, got, 'the deeper reference gets a copy of its own of the data object')
  t.ok(isDeepStrictEqual(got.user.data.catalog, catalog), 'with the same content')

  const withProto = JSON.parse('{"__proto__": {"polluted": true}, "page": 1}') as Record<string, unknown>
  Object.defineProperty(withProto, '__proto__', { value: catalog, enumerable: true, writable: true, configurable: true })
  const protoCopy = link.send(withProto) as object
  t.ok(Object.prototype.hasOwnProperty.call(protoCopy, '__proto__'), 'an own "__proto__" stays an own property')
  t.equal(Object.getPrototypeOf(protoCopy), Object.prototype)
})

test('a message that was not posted sends its values again with the next', async (t) => {
  const link = channel()
  t.teardown(() => link.close())
  const other = deepFreeze({ other: true })
  t.equal(link.sender.message([1, '/', { other }, 0, 0])[5]?.[3].length, 2, 'it would have carried the value')
  // Not committed: as when postMessage threw on something else in the data.
  const received = link.send({ other }) as { other: unknown }
  t.equal(link.messages[0][5]?.[3].length, 2, 'so the next carries it')
  t.ok(isDeepStrictEqual(received.other, other))
})

test('a worker keeps at most perWorker values, the least recently used going first, and drops collected ones', async (t) => {
  const link = channel(2)
  t.teardown(() => link.close())
  const [a, b, c] = ['a', 'b', 'c'].map((name) => deepFreeze({ name }))
  for (const value of [a, b, a, c, a, b]) {
    const received = link.send({ value }) as { value: unknown }
    t.ok(isDeepStrictEqual(received.value, value), `renders with ${value.name}`)
    t.ok(link.store.size <= 2, 'never more than two kept')
  }
  const sentAgain = link.messages.map((message) => (message[5]?.[3].length ?? 0) / 2)
  t.same(sentAgain, [1, 1, 0, 1, 0, 1], 'b was dropped for c (a was used since), and sent again when needed')

  const values = new FrozenValues()
  const sender = values.sender()
  const store = new FrozenStore()
  const { port1, port2 } = new MessageChannel()
  t.teardown(() => port1.close())
  const pass = (data: unknown): unknown => {
    port1.postMessage(sender.message([1, '/', data, 0, 0]))
    sender.commit()
    return store.dataOf(receiveMessageOnPort(port2)?.message as PostedTask)
  }
  pass({ a })
  t.equal(store.size, 1)
  const id = (sender.message([2, '/', { a }, 0, 0])[5] as NonNullable<PostedTask[5]>)[2][0]
  // What the FinalizationRegistry does once the route's object is garbage-collected.
  sender.collected(id)
  pass({ page: 1 })
  t.equal(store.size, 0, 'the next message, even one with nothing frozen, says to drop it')
})

test('through the pool: the worker keeps the frozen catalog, the route keeps its objects, a new worker is sent it', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('frozen-probe.js'), threads: 1 })
  const render = async (url: string, data: unknown) => JSON.parse((await app.ssr.render(url, data, { cache: false })).html)
  const first = await render('/a', { catalog, page: 1 })
  const second = await render('/b', { catalog, page: 2 })
  t.same(first.parts.catalog, { frozen: true, firstSeen: first.renders }, 'frozen on arrival')
  t.same(second.parts.catalog, { frozen: true, firstSeen: first.renders }, 'the same object as the first render had')
  t.same(second.data, { catalog, page: 2 }, 'the data the bundle sees is the route\'s')

  const route = { catalog, page: 3 }
  const mutated = await render('/mutate', route)
  t.equal(mutated.data.page, 'changed by the bundle', 'the bundle may change its copy of the unfrozen top level')
  t.same(route, { catalog, page: 3 }, 'the route\'s object is untouched')
  t.equal(catalog.products.length, 2, 'and the frozen catalog could not be changed in the worker either')
  t.equal((await render('/again', { catalog })).data.catalog.products.length, 2, 'nor for the next render')

  t.equal((await app.ssr.render('/exit', { catalog }, { cache: false }).catch((error: { code: string }) => error.code)), 'FST_SSR_WORKER_CRASHED')
  const afterCrash = await render('/c', { catalog, page: 4 })
  t.same(afterCrash.parts.catalog, { frozen: true, firstSeen: afterCrash.renders }, 'the new worker is sent it afresh')
  t.same(afterCrash.data, { catalog, page: 4 })
})
