import { test } from 'tap'
import { bundle } from './helpers/app'
import { RedisServer, redisSkip } from './helpers/redis'
import { startInstance, watchWrites, type Instance } from './helpers/shared'
import { pageKey } from '../dist/cache/key.js'
import { pageRef } from '../dist/cache/shared/names.js'

// The shared Redis tier and issue 15: loader pages, HTTP caching headers, statusTtl and vary across instances.

const skip = redisSkip()
const counter = bundle('counter.js')
// Generous bounds: on a busy machine a slow answer must not look like a Redis failure (which renders locally).
const shared = { timeout: 5000, lockTtl: 10_000 }

function renders (...instances: Instance[]): number {
  return instances.reduce((sum, instance) => sum + instance.app.ssr.metrics().renders.total, 0)
}

test('a loader page is loaded and rendered once across two instances; the other serves it with Age and Last-Modified', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  let calls = 0
  const loader = async (): Promise<unknown> => {
    calls++
    await new Promise((resolve) => setTimeout(resolve, 50))
    return { loaded: true }
  }
  const a = await startInstance(t, redis, { bundle: counter }, shared, { data: loader })
  const b = await startInstance(t, redis, { bundle: counter }, shared, { data: loader })
  const responses = await Promise.all(Array.from({ length: 40 }, async (_, i) => await (i % 2 === 0 ? a : b).get('/loaded')))
  const bodies = new Set(await Promise.all(responses.map(async (res) => await res.text())))
  t.same([...bodies], ['<p>url=/loaded renders=1 data={"loaded":true}</p>'])
  t.equal(calls, 1, 'one loader call in the deployment')
  t.equal(renders(a, b), 1, 'one render in the deployment')
  const fromRedis = responses.find((res) => res.headers.get('x-ssr-cache') === 'HIT-SHARED')
  t.ok(fromRedis !== undefined, 'the other instance read it from Redis')
  t.match(fromRedis?.headers.get('age'), /^\d+$/)
  t.equal(fromRedis?.headers.get('last-modified'), responses.find((res) => res.headers.get('x-ssr-cache') === 'MISS')?.headers.get('last-modified'))
  t.equal(fromRedis?.headers.get('cache-control'), 'public, max-age=0, must-revalidate')
})

test('statusTtl pages are shared for their own TTL; vary keeps variants apart in Redis too', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const options = { bundle: counter, cache: { statusTtl: { 404: 30 }, vary: ['accept-language'] } }
  const a = await startInstance(t, redis, options, shared)
  const b = await startInstance(t, redis, options, shared)
  const writes = await watchWrites(t, redis)
  const key = pageKey(a.app.ssr.version, '/missing/page', undefined) + '\u0000accept-language=en'
  const name = pageRef('ssr:', key, '/missing/page').page
  const miss = await a.get('/missing/page', { headers: { 'accept-language': 'en' } })
  t.equal(miss.status, 404)
  await miss.text()
  await writes.written(name)
  const other = await b.get('/missing/page', { headers: { 'accept-language': 'en' } })
  t.equal(other.status, 404)
  t.equal(other.headers.get('x-ssr-cache'), 'HIT-SHARED', 'the 404 was shared')
  await other.text()
  const ttl = await redis.client(t).pttl(name)
  t.ok(ttl > 0 && ttl <= 30_000, `the 404 lives ${ttl} ms in Redis, within its statusTtl`)
  const fr = await b.get('/missing/page', { headers: { 'accept-language': 'fr' } })
  t.equal(fr.headers.get('x-ssr-cache'), 'MISS', 'another language is another page, in Redis too')
  t.equal(fr.headers.get('vary'), 'accept-language')
})
