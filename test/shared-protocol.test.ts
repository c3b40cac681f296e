import { once } from 'node:events'
import { test, type Test } from 'tap'
import { pageKey, versionlessKey } from '../dist/cache/key.js'
import { pageRef } from '../dist/cache/shared/names.js'
import { SharedTier, type Page, type SharedTierOptions } from '../dist/cache/shared/shared-tier.js'
import { MemoryCluster, type MemoryBus, type MemoryStore } from './helpers/memory-store'
import { until } from './helpers/until'

// The shared tier's protocol between instances, on one in-memory store (helpers/memory-store.ts): each test runs
// in milliseconds, and drives what Redis makes hard to stage (a bus lost while the store stays up, a store failing
// on a live connection). The same paths on a real redis-server: shared-cache, shared-faults, shared-loaders.

const prefix = 'test:'
const version = '0123456789abcdef'
const defaults: SharedTierOptions = { prefix, ttl: 60, timeout: 200, lockTtl: 2000 }

type Drop = { key: string } | { prefix: string } | { all: true }

interface Node {
  tier: SharedTier
  store: MemoryStore
  bus: MemoryBus
  /** What the tier dropped from this instance's local tiers. */
  drops: Drop[]
  warnings: string[]
}

/** One instance's tier on `cluster`, started (connected), and closed when the test ends. */
async function startTier (t: Test, cluster: MemoryCluster, options: Partial<SharedTierOptions> = {}): Promise<Node> {
  const warnings: string[] = []
  const log = { warn: (object: object, message: string) => { warnings.push(message) } }
  const { store, bus } = cluster.connect(log)
  const drops: Drop[] = []
  const local = {
    dropKey: (rest: string) => { drops.push({ key: rest }) },
    dropPrefix: (prefix: string) => { drops.push({ prefix }) },
    dropAll: () => { drops.push({ all: true }) }
  }
  const tier = new SharedTier({ ...defaults, ...options }, { store, bus, local, log })
  t.teardown(async () => await tier.close())
  await tier.start()
  t.equal(tier.connected, true, 'connected after start')
  return { tier, store, bus, drops, warnings }
}

function makePage (html: string, ttl: number | null = 60): Page {
  return { status: 200, headers: { 'content-type': 'text/html' }, bodies: { identity: Buffer.from(html), br: null, gzip: null }, etag: `"${html.length}"`, renderedAt: Date.now(), ttl }
}

/** A render that counts its calls and answers `html`, at once or when `open()` is called. */
function renderer (html: string, { gated = false, fails = false } = {}) {
  let open = (): void => {}
  const gate = gated ? new Promise<void>((resolve) => { open = resolve }) : Promise.resolve()
  const render = Object.assign(async (): Promise<Page> => {
    render.calls++
    await gate
    if (fails) throw new Error('render failed')
    return makePage(html)
  }, { calls: 0 })
  return { render, open: () => open() }
}

function call (waitMs = 10_000) {
  // Bounded, so a waiter the protocol fails to wake fails its test instead of hanging it.
  return { signal: AbortSignal.timeout(8_000), waitMs, discarded: () => false }
}

function body (page: Page): string {
  return page.bodies.identity.toString()
}

const keyA = pageKey(version, '/a', null)

/** until(), given up after `ms`: a state the protocol never reaches fails its test, and leaves no loop running. */
async function eventually (condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  await until(() => {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms: ${condition.toString()}`)
    return condition()
  })
}
// Each test takes milliseconds; a protocol step that never comes fails its test within `timeout`, not the whole
// file. A fresh options object per test: tap keeps state in the one it is given.
const bounded = (): { timeout: number } => ({ timeout: 10_000 })

test('a page rendered by one instance is a hit on another, with what is left of its TTL', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  const first = renderer('<p>a</p>')
  t.equal(body(await a.tier.fetch(keyA, '/a', first.render, call())), '<p>a</p>')
  await eventually(() => a.tier.counters.writes === 1)
  const second = renderer('<p>other</p>')
  const hit = await b.tier.fetch(keyA, '/a', second.render, call())
  t.equal(second.render.calls, 0, 'not rendered on B')
  t.equal(body(hit), '<p>a</p>')
  t.equal((hit as { fromShared?: boolean }).fromShared, true)
  const ttlMs = (hit as { ttlMs: number | null }).ttlMs
  t.ok(ttlMs !== null && ttlMs > 0 && ttlMs <= 60_000, `ttlMs ${ttlMs}`)
  t.match(b.tier.snapshot(), { hits: 1, misses: 0, writes: 0 })
  t.match(a.tier.snapshot(), { hits: 0, misses: 1, writes: 1 })
})

test('of three instances missing a page at once, one renders and the others wait for its page', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const [a, b, c] = [await startTier(t, cluster), await startTier(t, cluster), await startTier(t, cluster)]
  const held = renderer('<p>once</p>', { gated: true })
  const others = renderer('<p>twice</p>')
  const ref = pageRef(prefix, keyA, '/a')
  const fromA = a.tier.fetch(keyA, '/a', held.render, call())
  await eventually(() => cluster.lock(ref.lock) !== undefined)
  const fromB = b.tier.fetch(keyA, '/a', others.render, call())
  const fromC = c.tier.fetch(keyA, '/a', others.render, call())
  await eventually(() => b.tier.counters.lockWaits === 1 && c.tier.counters.lockWaits === 1)
  t.equal(others.render.calls, 0, 'nobody renders while the holder does')
  held.open()
  const pages = await Promise.all([fromA, fromB, fromC])
  t.same(pages.map(body), ['<p>once</p>', '<p>once</p>', '<p>once</p>'])
  t.equal(held.render.calls + others.render.calls, 1, 'rendered once across the instances')
  t.match(b.tier.snapshot(), { hits: 1, lockWaits: 1 })
  t.equal(cluster.lock(ref.lock), undefined, 'the lock is released by the write')
})

test('when the lock holder\'s render fails, it releases the lock and a waiter renders itself', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  // Lock and wait far longer than the test: only the release lets B go on.
  const a = await startTier(t, cluster, { lockTtl: 60_000 })
  const b = await startTier(t, cluster, { lockTtl: 60_000 })
  const failing = renderer('', { gated: true, fails: true })
  const own = renderer('<p>b</p>')
  const ref = pageRef(prefix, keyA, '/a')
  const fromA = a.tier.fetch(keyA, '/a', failing.render, call(60_000))
  await eventually(() => cluster.lock(ref.lock) !== undefined)
  const fromB = b.tier.fetch(keyA, '/a', own.render, call(60_000))
  await eventually(() => b.tier.counters.lockWaits === 1)
  failing.open()
  await t.rejects(fromA, /render failed/, 'the holder\'s error is its caller\'s')
  t.equal(body(await fromB), '<p>b</p>')
  t.equal(own.render.calls, 1, 'B rendered itself')
  await eventually(() => b.tier.counters.writes === 1)
  t.equal(cluster.page(ref.page)?.value !== undefined, true, 'and wrote its page through')
})

test('a live holder keeps extending its lock while it renders', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster, { lockTtl: 600 })
  const slow = renderer('<p>a</p>', { gated: true })
  const ref = pageRef(prefix, keyA, '/a')
  const fromA = a.tier.fetch(keyA, '/a', slow.render, call())
  await eventually(() => cluster.lock(ref.lock) !== undefined)
  const takenUntil = cluster.lock(ref.lock)?.expiresAt ?? 0
  await eventually(() => (cluster.calls.get('extend') ?? 0) >= 2)
  t.ok((cluster.lock(ref.lock)?.expiresAt ?? 0) > takenUntil, 'its expiry moved forward')
  slow.open()
  await fromA
  await eventually(() => cluster.lock(ref.lock) === undefined)
})

test('a holder that cannot extend its lock loses it within one TTL, and a waiter renders', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster, { lockTtl: 100 })
  const b = await startTier(t, cluster, { lockTtl: 100 })
  const stuck = renderer('<p>a</p>', { gated: true })
  const own = renderer('<p>b</p>')
  const ref = pageRef(prefix, keyA, '/a')
  const fromA = a.tier.fetch(keyA, '/a', stuck.render, call())
  await eventually(() => cluster.lock(ref.lock) !== undefined)
  // A's connection is gone: its extensions fail, as a dead instance's would never come.
  a.store.down()
  t.equal(body(await b.tier.fetch(keyA, '/a', own.render, call())), '<p>b</p>')
  t.equal(own.render.calls, 1)
  t.equal(b.tier.counters.lockWaits, 1, 'it waited first')
  stuck.open()
  t.equal(body(await fromA), '<p>a</p>', 'the old holder still answers its own request')
})

test('a write-through is discarded when an invalidation ran during the render', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  const slow = renderer('<p>old</p>', { gated: true })
  const ref = pageRef(prefix, keyA, '/a')
  const fromA = a.tier.fetch(keyA, '/a', slow.render, call())
  await eventually(() => slow.render.calls === 1)
  // Any invalidation moves the epoch; the page A renders may predate it.
  b.tier.invalidatePrefix('/')
  await once(a.tier, 'invalidation')
  slow.open()
  await fromA
  await eventually(() => a.tier.counters.writesDiscarded === 1)
  t.equal(a.tier.counters.writes, 0)
  t.equal(cluster.page(ref.page), undefined, 'nothing stored')
  t.equal(cluster.lock(ref.lock), undefined, 'the lock released anyway')
})

test('a render the engine marked discarded is not written, and its lock is released', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const ref = pageRef(prefix, keyA, '/a')
  await a.tier.fetch(keyA, '/a', renderer('<p>a</p>').render, { ...call(), discarded: () => true })
  await eventually(() => cluster.calls.get('release') === 1)
  t.equal(cluster.calls.get('store'), undefined)
  t.equal(cluster.lock(ref.lock), undefined)
})

test('an invalidation on one instance removes the page everywhere and drops the others\' local copies', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  const { rest } = versionlessKey(keyA)
  const nextVersion = pageKey('fedcba9876543210', '/a', null)
  const keyShop = pageKey(version, '/shop/x', null)
  for (const [key, url] of [[keyA, '/a'], [nextVersion, '/a'], [keyShop, '/shop/x']]) await a.tier.fetch(key, url, renderer(url).render, call())
  await eventually(() => a.tier.counters.writes === 3)

  const events = [once(a.tier, 'invalidation'), once(b.tier, 'invalidation')]
  a.tier.invalidateKey(keyA)
  const [[own], [remote]] = await Promise.all(events)
  t.same(own, { type: 'key', remote: false })
  t.same(remote, { type: 'key', remote: true })
  t.same(b.drops, [{ key: rest }], 'B dropped its local copy')
  t.same(a.drops, [{ key: rest }], 'A applies its own once the store executed it')
  t.equal(cluster.page(pageRef(prefix, keyA, '/a').page), undefined)
  t.equal(cluster.page(pageRef(prefix, nextVersion, '/a').page), undefined, 'in every bundle version')
  t.not(cluster.page(pageRef(prefix, keyShop, '/shop/x').page), undefined, 'other pages stay')
  t.equal(b.tier.counters.invalidationsReceived, 1)
  t.equal(a.tier.counters.invalidationsReceived, 0, 'its own is not counted as received')

  const next = once(b.tier, 'invalidation')
  a.tier.invalidatePrefix('/shop/')
  t.same((await next)[0], { type: 'prefix', prefix: '/shop/', remote: true })
  t.same(b.drops.at(-1), { prefix: '/shop/' })
  t.equal(cluster.pages.size, 0)
})

test('a bus lost while another instance invalidates: local tiers are cleared on resubscribe', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  const down = once(b.tier, 'down')
  b.bus.lose()
  await down
  t.equal(b.tier.connected, false, 'not connected while it may be missing purges')
  a.tier.invalidatePrefix('/shop/')
  await once(a.tier, 'invalidation')
  t.same(b.drops, [], 'B missed it')
  const resync = once(b.tier, 'resync')
  const up = once(b.tier, 'up')
  b.bus.resubscribe()
  await Promise.all([resync, up])
  t.same(b.drops, [{ all: true }], 'cleared, not served what A purged')
  t.equal(b.tier.snapshot().resyncs, 1)
  t.match(b.warnings, [/invalidations may have been missed/])
})

test('a bus lost and back with no invalidation meanwhile keeps the local tiers', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  // An epoch both have seen: B compares against it when it comes back.
  a.tier.clear()
  await once(b.tier, 'invalidation')
  b.drops.length = 0
  b.bus.lose()
  const up = once(b.tier, 'up')
  b.bus.resubscribe()
  await up
  t.same(b.drops, [], 'nothing cleared')
  t.equal(b.tier.snapshot().resyncs, 0)
})

test('invalidations made while the store is down are sent when it is back', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  await a.tier.fetch(keyA, '/a', renderer('<p>a</p>').render, call())
  await eventually(() => a.tier.counters.writes === 1)
  a.store.down()
  a.tier.invalidateKey(keyA)
  a.tier.invalidatePrefix('/shop/')
  await eventually(() => a.tier.snapshot().errors.unavailable === 2)
  t.equal(cluster.calls.get('invalidate'), undefined, 'nothing reached the store')
  t.not(cluster.page(pageRef(prefix, keyA, '/a').page), undefined, 'the page is still there')
  a.store.up()
  await eventually(() => b.drops.length === 2)
  t.same(b.drops, [{ key: versionlessKey(keyA).rest }, { prefix: '/shop/' }], 'both, in order')
  t.equal(cluster.page(pageRef(prefix, keyA, '/a').page), undefined, 'and the page is gone')
})

test('invalidations refused by a failing store are replayed after its next answer', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  a.store.failing = true
  a.tier.invalidatePrefix('/p/')
  await eventually(() => a.tier.snapshot().errors.errors === 1)
  a.store.failing = false
  t.same(b.drops, [])
  // Any call that succeeds says the store answers again.
  await a.tier.fetch(keyA, '/a', renderer('<p>a</p>').render, call())
  await eventually(() => b.drops.length === 1)
  t.same(b.drops, [{ prefix: '/p/' }])
})

test('past 64 queued invalidations, one clear replaces them', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  const b = await startTier(t, cluster)
  a.store.down()
  for (let i = 0; i < 70; i++) a.tier.invalidateKey(pageKey(version, `/p/${i}`, null))
  await eventually(() => a.tier.snapshot().errors.unavailable === 70)
  a.store.up()
  await eventually(() => b.drops.length > 0)
  // A second replay message would arrive on the same turn as the first.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(b.drops, [{ all: true }])
  t.equal(cluster.calls.get('invalidate'), 1)
})

test('a store that is down or failing costs the render nothing: it is rendered here, never thrown', bounded(), async (t) => {
  const cluster = new MemoryCluster()
  const a = await startTier(t, cluster)
  a.store.down()
  const first = renderer('<p>down</p>')
  t.equal(body(await a.tier.fetch(keyA, '/a', first.render, call())), '<p>down</p>')
  t.equal(first.render.calls, 1)
  a.store.up()
  a.store.failing = true
  const second = renderer('<p>failing</p>')
  t.equal(body(await a.tier.fetch(keyA, '/a', second.render, call())), '<p>failing</p>')
  await a.tier.close()
  t.match(a.tier.snapshot(), { misses: 2, writes: 0, errors: { unavailable: 1, errors: 1 } })
  t.equal(cluster.calls.get('store'), undefined, 'no write-through without an epoch to check')
  t.equal(cluster.pages.size, 0)
  await t.rejects(a.tier.fetch(keyA, '/a', renderer('', { fails: true }).render, call()), /render failed/, 'a render\'s own error still reaches its caller')
})
