import { test } from 'tap'
import { bundle } from './helpers/app'
import { RedisServer, redisSkip } from './helpers/redis'
import { startInstance } from './helpers/shared'

const skip = redisSkip()
const counter = bundle('counter.js')

test('two instances share pages through Redis: one renders, the other serves the same bytes', { skip }, async (t) => {
  const redis = await RedisServer.start(t)
  const a = await startInstance(t, redis, { bundle: counter })
  const b = await startInstance(t, redis, { bundle: counter })
  const first = await a.get('/page?size=1', { headers: { 'accept-encoding': 'identity' } })
  t.equal(first.headers.get('x-ssr-cache'), 'MISS')
  const html = await first.text()
  const shared = await b.get('/page?size=1', { headers: { 'accept-encoding': 'identity' } })
  t.equal(shared.headers.get('x-ssr-cache'), 'HIT-SHARED')
  t.equal(await shared.text(), html)
  t.equal(shared.headers.get('etag'), first.headers.get('etag'))
  t.equal((await b.get('/page?size=1')).headers.get('x-ssr-cache'), 'HIT-HOT')
  t.equal(a.app.ssr.metrics().renders.total + b.app.ssr.metrics().renders.total, 1)
  t.match(b.app.ssr.metrics().cache?.shared, { connected: true, hits: 1, misses: 0 })
})
