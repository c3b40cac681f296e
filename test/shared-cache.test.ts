import { brotliDecompressSync } from 'node:zlib'
import { request } from 'undici'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { pageKey } from '../dist/cache/key.js'
import { pageRef } from '../dist/cache/shared/names.js'
import { encodePage } from '../dist/cache/shared/codec.js'
import { bundle } from './helpers/app'
import { RedisServer, redisSkip } from './helpers/redis'
import { next, startInstance, watchWrites, type Instance } from './helpers/shared'

const skip = redisSkip()
const counter = bundle('counter.js')

function renders (...instances: Instance[]): number {
  return instances.reduce((sum, instance) => sum + instance.app.ssr.metrics().renders.total, 0)
}

/** Where a page of `instance` lives in Redis (default prefix). */
function pageName (instance: Instance, url: string): string {
  return pageRef('ssr:', pageKey(instance.app.ssr.version, url, undefined), url).page
}

test('two instances share pages through Redis: one renders, the other serves the same bytes and ETag', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const a = await startInstance(t, redis, { bundle: counter })
  const b = await startInstance(t, redis, { bundle: counter, metrics: { port: 0 } })

  // A small page is stored uncompressed.
  const plain = await a.get('/small')
  t.equal(plain.headers.get('x-ssr-cache'), 'MISS')
  const sharedPlain = await b.get('/small')
  t.equal(sharedPlain.headers.get('x-ssr-cache'), 'HIT-SHARED')
  t.equal(await sharedPlain.text(), await plain.text())
  t.equal(sharedPlain.headers.get('etag'), plain.headers.get('etag'))
  t.equal((await b.get('/small')).headers.get('x-ssr-cache'), 'HIT-HOT', 'then it is local')

  // A large one travels as br and gzip; the other instance rebuilds the identity bytes from br.
  const identity = await a.get('/big?size=20000', { headers: { 'accept-encoding': 'identity' } })
  const html = await identity.text()
  // undici's request() leaves the body encoded, unlike fetch.
  const br = await request(b.base + '/big?size=20000', { headers: { 'accept-encoding': 'br' } })
  t.equal(br.headers['x-ssr-cache'], 'HIT-SHARED')
  t.equal(br.headers['content-encoding'], 'br')
  t.equal(brotliDecompressSync(Buffer.from(await br.body.arrayBuffer())).toString(), html)
  t.equal(br.headers.etag, identity.headers.get('etag')?.replace(/"$/, '-br"'))
  const rebuilt = await b.get('/big?size=20000', { headers: { 'accept-encoding': 'identity' } })
  t.equal(rebuilt.headers.get('x-ssr-cache'), 'HIT-HOT')
  t.equal(await rebuilt.text(), html, 'identity rebuilt from br')
  t.equal(renders(a, b), 2, 'each page rendered once in the deployment')

  t.match(b.app.ssr.metrics().cache?.shared, { connected: true, hits: 2, misses: 0 })
  // Closing waits for write-throughs in progress, so A's counters are final then.
  await a.app.close()
  t.match(a.app.ssr.metrics().cache?.shared, { hits: 0, misses: 2, writes: 2, writesDiscarded: 0 })
  const text = await (await fetch(`${b.app.ssr.metricsUrl ?? ''}?format=prometheus`)).text()
  const families = parsePrometheusTextFormat(text) as Array<{ name: string, metrics: Array<{ value: string, labels?: Record<string, string> }> }>
  const value = (name: string): number => Number(families.find((f) => f.name === name)?.metrics[0].value)
  t.equal(value('ssr_shared_connected'), 1)
  t.equal(value('ssr_shared_hits_total'), 2)
  t.equal(families.find((f) => f.name === 'ssr_shared_errors_total')?.metrics.length, 3, 'errors by kind')
})

for (const [name, act] of [
  ['invalidatePrefix', (instance: Instance) => instance.app.ssr.invalidatePrefix('/products/')],
  ['invalidate', (instance: Instance) => instance.app.ssr.invalidate('/products/1')],
  ['clear', (instance: Instance) => instance.app.ssr.clear()]
] as const) {
  test(`${name} on one instance clears the page from Redis and from the other instance`, { skip }, async (t) => {
    const redis = await RedisServer.start(t)
    const a = await startInstance(t, redis, { bundle: counter })
    const b = await startInstance(t, redis, { bundle: counter })
    await a.get('/products/1')
    await a.get('/other')
    t.equal((await b.get('/products/1')).headers.get('x-ssr-cache'), 'HIT-SHARED')
    t.equal((await b.get('/products/1')).headers.get('x-ssr-cache'), 'HIT-HOT')

    const received = next(b, 'invalidation')
    act(a)
    t.match(await received, { remote: true })
    const after = await b.get('/products/1')
    t.equal(after.headers.get('x-ssr-cache'), 'MISS', 'gone from B and from Redis: rendered again')
    t.equal(b.app.ssr.metrics().cache?.shared?.invalidationsReceived, 1)
    t.equal((await b.get('/other')).headers.get('x-ssr-cache'), name === 'clear' ? 'MISS' : 'HIT-SHARED')
  })
}

test('the purge route purges the whole deployment', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const a = await startInstance(t, redis, { bundle: counter, purge: { auth: () => true } })
  const b = await startInstance(t, redis, { bundle: counter })
  await a.get('/news/1')
  await b.get('/news/1')
  const received = next(b, 'invalidation')
  const purge = await a.get('/_ssr/cache?prefix=/news/', { method: 'DELETE' })
  t.same(await purge.json(), { removed: 1, prefix: '/news/' }, 'removed counts this instance\'s local pages')
  t.same(await received, { type: 'prefix', prefix: '/news/', remote: true })
  t.equal((await b.get('/news/1')).headers.get('x-ssr-cache'), 'MISS')
})

test('50 concurrent misses spread over two instances cause one render', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  // Generous bounds: on a busy machine a slow answer must not look like a Redis failure (which renders locally).
  const shared = { timeout: 5000, lockTtl: 10_000 }
  const a = await startInstance(t, redis, { bundle: counter }, shared, { data: { delay: 50 } })
  const b = await startInstance(t, redis, { bundle: counter }, shared, { data: { delay: 50 } })
  const responses = await Promise.all(Array.from({ length: 50 }, async (_, i) => await (i % 2 === 0 ? a : b).get('/launch')))
  t.ok(responses.every((res) => res.status === 200))
  const bodies = await Promise.all(responses.map(async (res) => await res.text()))
  t.equal(new Set(bodies).size, 1, 'everyone got the same page')
  t.match(bodies[0], 'renders=1 ')
  t.equal(renders(a, b), 1, 'one render in the deployment')
  const states = new Set(responses.map((res) => res.headers.get('x-ssr-cache')))
  t.ok(states.has('MISS') && states.has('HIT-SHARED'), `one instance rendered, the other read it (${[...states].join(', ')})`)
})

test('a render lock whose holder died expires, and another instance renders', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const a = await startInstance(t, redis, { bundle: counter })
  const inspect = redis.client(t)
  const lock = pageRef('ssr:', pageKey(a.app.ssr.version, '/orphan', undefined), '/orphan').lock
  // An instance took the lock and died: nobody extends it, nobody publishes "rendered".
  t.equal(await inspect.set(lock, 'dead-instance', 'PX', 60_000, 'NX'), 'OK')
  const pending = a.get('/orphan')
  // Once A waits for the holder, the dead holder's lock runs out.
  while ((a.app.ssr.metrics().cache?.shared?.lockWaits ?? 0) < 1) await new Promise((resolve) => setImmediate(resolve))
  await inspect.pexpire(lock, 1)
  const res = await pending
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-ssr-cache'), 'MISS')
  t.match(a.app.ssr.metrics().cache?.shared, { lockWaits: 1, misses: 1 })
  t.equal(renders(a), 1)
})

test('a value under a page\'s name that holds another key is never served', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const a = await startInstance(t, redis, { bundle: counter })
  const b = await startInstance(t, redis, { bundle: counter })
  const inspect = redis.client(t)
  const foreign = encodePage({
    key: 'another key with the same hash',
    url: '/exact',
    status: 200,
    headers: {},
    bodies: { identity: Buffer.from('<p>not this page</p>'), br: null, gzip: null },
    etag: '"x"'
  })
  await inspect.set(pageName(a, '/exact'), foreign)
  const writes = await watchWrites(t, redis)
  const res = await a.get('/exact')
  t.equal(res.headers.get('x-ssr-cache'), 'MISS')
  t.match(await res.text(), 'url=/exact renders=1')
  // A's write-through replaced the foreign value, after the response: B then reads A's page.
  await writes.written(pageName(a, '/exact'))
  t.match(await (await b.get('/exact')).text(), 'url=/exact renders=1')
  t.equal(renders(a, b), 1)
})

test('pages are kept per bundle version, and an invalidation reaches every version', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  // The same bundle with other bytes: another version, as during a rolling deploy.
  const other = join(t.testdir(), 'counter-v2.js')
  copyFileSync(counter, other)
  const { appendFileSync } = await import('node:fs')
  appendFileSync(other, '\n// v2\n')
  const v1 = await startInstance(t, redis, { bundle: counter })
  const v2 = await startInstance(t, redis, { bundle: other })
  t.not(v1.app.ssr.version, v2.app.ssr.version)
  const writes = await watchWrites(t, redis)
  await v1.get('/catalog/1')
  t.equal((await v2.get('/catalog/1')).headers.get('x-ssr-cache'), 'MISS', 'a version never serves another\'s page')
  await writes.written(pageName(v1, '/catalog/1'))
  await writes.written(pageName(v2, '/catalog/1'))
  const inspect = redis.client(t)
  t.equal(await inspect.exists(pageName(v1, '/catalog/1'), pageName(v2, '/catalog/1')), 2)

  const received = next(v2, 'invalidation')
  v1.app.ssr.invalidate('/catalog/1')
  await received
  t.equal(await inspect.exists(pageName(v1, '/catalog/1'), pageName(v2, '/catalog/1')), 0, 'both versions\' copies deleted')

  await v1.get('/catalog/2')
  await v2.get('/catalog/2')
  await writes.written(pageName(v1, '/catalog/2'))
  await writes.written(pageName(v2, '/catalog/2'))
  const prefixed = next(v1, 'invalidation')
  v2.app.ssr.invalidatePrefix('/catalog/')
  await prefixed
  t.equal(await inspect.exists(pageName(v1, '/catalog/2'), pageName(v2, '/catalog/2')), 0)
  t.equal(await inspect.zcard('ssr:index'), 0, 'the index holds nothing that is gone')
})

test('pages that are not shared release the lock: every instance renders its own, nobody waits for a deadline', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const a = await startInstance(t, redis, { bundle: counter })
  const b = await startInstance(t, redis, { bundle: counter })
  for (const [path, status] of [['/cookie', 200], ['/missing', 404], ['/fail', 500]] as const) {
    const responses = await Promise.all([a.get(path), b.get(path)])
    t.same(responses.map((res) => res.status), [status, status], path)
  }
  t.equal(renders(a, b), 6, 'each instance rendered each page itself')
  // Closing waits for the lock releases that follow the responses.
  await Promise.all([a.app.close(), b.app.close()])
  const inspect = redis.client(t)
  t.same(await inspect.keys('ssr:lock:*'), [], 'no lock left behind')
  t.same(await inspect.keys('ssr:page:*'), [], 'nothing stored')
})
