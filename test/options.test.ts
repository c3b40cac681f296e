import { availableParallelism } from 'node:os'
import { test } from 'tap'
import Fastify from 'fastify'
import ssrPlugin from '../dist/index.js'
import { normalizeOptions } from '../dist/options/index.js'
import { bundle } from './helpers/app'

const good = { bundle: bundle('rusty.js') }
/** Looks like an ioredis client to validation, which is all these cases reach. */
const fakeClient = { duplicate () {}, callBuffer () {}, status: 'ready' }

// One case per message: the option named, and what was expected.
const cases: Array<[string, unknown, RegExp]> = [
  ['missing bundle', {}, /"bundle": expected the path of the server bundle, got undefined/],
  ['empty bundle', { bundle: '' }, /"bundle": expected the path/],
  ['bundle not a string', { bundle: 42 }, /"bundle": expected the path of the server bundle, got 42/],
  ['renderFunction not an identifier', { ...good, renderFunction: 'render page' }, /"renderFunction": expected a JavaScript identifier/],
  // 0 is the main thread (threads: 0, test/inline.test.ts); below it nothing.
  ['threads negative', { ...good, threads: -1 }, /"threads": expected an integer from 0 to 256, got -1/],
  ['threads too many', { ...good, threads: 257 }, /"threads": expected an integer from 0 to 256, got 257/],
  ['threads fractional', { ...good, threads: 1.5 }, /"threads": expected an integer/],
  ['threads string', { ...good, threads: '2' }, /"threads": expected an integer from 0 to 256, got "2"/],
  ['maxQueue negative', { ...good, maxQueue: -1 }, /"maxQueue": expected an integer from 0/],
  ['renderTimeout zero', { ...good, renderTimeout: 0 }, /"renderTimeout": expected an integer from 1/],
  ['renderTimeout infinite', { ...good, renderTimeout: Infinity }, /"renderTimeout"/],
  ['globals array', { ...good, globals: [] }, /"globals": expected a plain object, got an array/],
  ['globals with a function', { ...good, globals: { fn: () => 1 } }, /"globals.fn": expected a structured-cloneable value/],
  ['retryAfter zero', { ...good, retryAfter: 0 }, /"retryAfter": expected an integer from 1 to 86400/],
  ['maxHeapMb negative', { ...good, maxHeapMb: -5 }, /"maxHeapMb": expected a positive number, got -5/],
  ['closeTimeout string', { ...good, closeTimeout: 'soon' }, /"closeTimeout": expected an integer/],
  ['startTimeout zero', { ...good, startTimeout: 0 }, /"startTimeout": expected an integer from 1 to \d+, got 0/],
  ['unknown option', { ...good, treads: 2 }, /"treads": unknown option/],
  ['pinThreads not a boolean', { ...good, pinThreads: 'yes' }, /"pinThreads": expected true or false, got "yes"/],
  ['handoffSpinUs negative', { ...good, handoffSpinUs: -1 }, /"handoffSpinUs": expected an integer from 0 to 10000, got -1/],
  ['handoffSpinUs fractional', { ...good, handoffSpinUs: 2.5 }, /"handoffSpinUs": expected an integer/],
  ['handoffSpinUs too long', { ...good, handoffSpinUs: 20_000 }, /"handoffSpinUs": expected an integer from 0 to 10000, got 20000/],
  ['cache not an object', { ...good, cache: true }, /"cache": expected false or an object, got true/],
  ['cache unknown key', { ...good, cache: { hot: 1 } }, /"cache.hot": unknown option/],
  ['cache.hotEntries zero', { ...good, cache: { hotEntries: 0 } }, /"cache.hotEntries": expected an integer from 1/],
  ['cache.hotMaxBytes zero', { ...good, cache: { hotMaxBytes: 0 } }, /"cache.hotMaxBytes": expected an integer from 1/],
  ['cache.coldEntries too many', { ...good, cache: { coldEntries: 1e7 } }, /"cache.coldEntries": expected an integer from 0 to 1000000, got 10000000/],
  ['cache.coldMaxBytes negative', { ...good, cache: { coldMaxBytes: -1 } }, /"cache.coldMaxBytes": expected an integer from 0/],
  ['cache.ttl fractional', { ...good, cache: { ttl: 0.5 } }, /"cache.ttl": expected an integer from 0/],
  ['cache.query not an array', { ...good, cache: { query: 'page' } }, /"cache.query": expected an array of parameter names/],
  ['cache.ignoreQuery not an array', { ...good, cache: { ignoreQuery: 'utm_*' } }, /"cache.ignoreQuery": expected an array of parameter names, got "utm_\*"/],
  ['cache.vary not an array', { ...good, cache: { vary: 'accept-language' } }, /"cache.vary": expected an array of header names or 'cookie:<name>'/],
  ['cache.vary a bad name', { ...good, cache: { vary: ['accept language'] } }, /"cache.vary": expected header names or 'cookie:<name>', got "accept language"/],
  ['cache.vary the whole Cookie header', { ...good, cache: { vary: ['cookie'] } }, /"cache.vary": expected header names or 'cookie:<name>', got "cookie"/],
  ['cache.control a number', { ...good, cache: { control: 60 } }, /"cache.control": expected 'shared', a Cache-Control value or a function \(page\) => string, got 60/],
  ['cache.control with a line break', { ...good, cache: { control: 'public\r\nx: y' } }, /"cache.control": expected 'shared'/],
  ['cache.statusTtl not an object', { ...good, cache: { statusTtl: [404] } }, /"cache.statusTtl": expected an object of status: seconds, got an array/],
  ['cache.statusTtl a 5xx', { ...good, cache: { statusTtl: { 503: 10 } } }, /"cache.statusTtl.503": expected a status from 201 to 499/],
  ['cache.statusTtl zero seconds', { ...good, cache: { statusTtl: { 404: 0 } } }, /"cache.statusTtl.404": expected an integer from 1/],
  ['cache.shared not an object', { ...good, cache: { shared: 'redis://:secret@host' } }, /"cache.shared": expected an object \{ redis, prefix\?, ttl\?, timeout\?, lockTtl\? \}, got a string$/],
  ['cache.shared unknown key', { ...good, cache: { shared: { redis: 'redis://localhost', url: 'x' } } }, /"cache.shared.url": unknown option; expected one of redis, prefix, ttl, timeout, lockTtl/],
  ['cache.shared.redis missing', { ...good, cache: { shared: {} } }, /"cache.shared.redis": expected an ioredis client or a redis:\/\/ or rediss:\/\/ URL, got undefined/],
  ['cache.shared.redis another scheme', { ...good, cache: { shared: { redis: 'http://user:secret@host' } } }, /"cache.shared.redis": expected an ioredis client or a redis:\/\/ or rediss:\/\/ URL, got a string that is not one$/],
  ['cache.shared.redis not a client', { ...good, cache: { shared: { redis: { get () {} } } } }, /"cache.shared.redis": expected an ioredis client or a redis:\/\/ or rediss:\/\/ URL, got object/],
  ['cache.shared.redis a cluster', { ...good, cache: { shared: { redis: { ...fakeClient, isCluster: true } } } }, /"cache.shared.redis": Redis Cluster is not supported/],
  ['cache.shared.redis with keyPrefix', { ...good, cache: { shared: { redis: { ...fakeClient, options: { keyPrefix: 'app:' } } } } }, /"cache.shared.redis": a client with keyPrefix is not supported; use cache.shared.prefix/],
  ['cache.shared.prefix empty', { ...good, cache: { shared: { redis: 'redis://localhost', prefix: '' } } }, /"cache.shared.prefix": expected a non-empty string of at most 200 characters, got ""/],
  ['cache.shared.ttl negative', { ...good, cache: { shared: { redis: 'redis://localhost', ttl: -1 } } }, /"cache.shared.ttl": expected an integer from 0/],
  ['cache.shared.timeout zero', { ...good, cache: { shared: { redis: 'redis://localhost', timeout: 0 } } }, /"cache.shared.timeout": expected an integer from 1 to 60000, got 0/],
  ['cache.shared.lockTtl fractional', { ...good, cache: { shared: { redis: 'redis://localhost', lockTtl: 1.5 } } }, /"cache.shared.lockTtl": expected an integer from 0 to 600000, got 1.5/],
  ['cache.staleWhileRevalidate negative', { ...good, cache: { staleWhileRevalidate: -1 } }, /"cache.staleWhileRevalidate": expected an integer from 0 to \d+, got -1/],
  ['cache.staleIfError fractional', { ...good, cache: { staleIfError: 1.5 } }, /"cache.staleIfError": expected an integer from 0 to \d+, got 1.5/],
  ['maxRendersPerWorker zero', { ...good, maxRendersPerWorker: 0 }, /"maxRendersPerWorker": expected an integer from 1 to \d+, got 0/],
  ['maxRendersPerWorker string', { ...good, maxRendersPerWorker: '100' }, /"maxRendersPerWorker": expected an integer from 1 to \d+, got "100"/],
  ['watch not a boolean', { ...good, watch: 'yes' }, /"watch": expected true or false, got "yes"/],
  ['browserGlobals not a boolean', { ...good, browserGlobals: 1 }, /"browserGlobals": expected true or false, got 1/]
]

for (const [name, options, message] of cases) {
  test(`register fails on ${name}`, async (t) => {
    const app = Fastify()
    app.register(ssrPlugin, options as never)
    const error = await app.ready().then(() => null, (err: Error & { code?: string }) => err)
    await app.close()
    t.ok(error, 'ready() rejects')
    t.equal(error?.code, 'FST_SSR_INVALID_OPTION')
    t.match(error?.message, message)
    t.equal(error instanceof TypeError, true)
    t.notMatch(error?.message, 'secret', 'a password in a URL is never repeated')
  })
}

test('defaults are filled and the bundle path is resolved', async (t) => {
  const resolved = normalizeOptions({ bundle: 'relative/server.js' })
  t.equal(resolved.bundle, `${process.cwd()}/relative/server.js`)
  t.equal(resolved.renderFunction, 'renderPage')
  t.equal(resolved.maxQueue, 512)
  t.equal(resolved.renderTimeout, 10_000)
  t.ok(resolved.threads >= 1)
  t.match(resolved.cache, { hotEntries: 128, hotMaxBytes: 32 * 1024 * 1024, coldEntries: 1000, coldMaxBytes: 64 * 1024 * 1024, ttl: 300, staleWhileRevalidate: 0, staleIfError: 0, query: null, shared: null, vary: [], control: 'default' })
  t.same([...(resolved.cache?.statusTtl ?? new Map())], [], 'no status but 200 is stored unless asked')
  t.same(resolved.cache?.ignoreQuery, { names: new Set(['gclid', 'fbclid', 'msclkid']), prefixes: ['utm_'] }, 'tracking parameters ignored')
  t.equal(resolved.pinThreads, false)
  t.equal(resolved.handoffSpinUs, 0, 'a worker per CPU (the default threads): no polling at a hand-over')
  t.equal(normalizeOptions({ bundle: 'x.js', threads: availableParallelism() - 1 || 1 }).handoffSpinUs, availableParallelism() > 1 ? 50 : 0,
    'a CPU to spare: 50 µs')
  t.equal(normalizeOptions({ bundle: 'x.js', threads: 0 }).handoffSpinUs, 0, 'threads: 0: no hand-over to poll at')
  t.equal(normalizeOptions({ bundle: 'x.js', handoffSpinUs: 0 }).handoffSpinUs, 0)
  t.equal(resolved.maxRendersPerWorker, null, 'workers are not recycled unless asked')
  t.equal(resolved.watch, false)
  t.equal(resolved.browserGlobals, false, 'browser globals are opt-in')
  t.equal(normalizeOptions({ bundle: 'x.js', cache: false }).cache, null)
  t.same([...(normalizeOptions({ bundle: 'x.js', cache: { query: ['page'] } }).cache?.query ?? [])], ['page'])
})

test('cache.shared defaults: prefix ssr:, the cache TTL, 200 ms calls, a 2 s lock', async (t) => {
  const resolved = normalizeOptions({ bundle: 'x.js', cache: { ttl: 60, shared: { redis: 'rediss://cache.internal:6380' } } })
  t.same(resolved.cache?.shared, { redis: 'rediss://cache.internal:6380', prefix: 'ssr:', ttl: 60, timeout: 200, lockTtl: 2000 })
  const own = normalizeOptions({ bundle: 'x.js', cache: { shared: { redis: fakeClient, prefix: 'shop:', ttl: 0, timeout: 50, lockTtl: 0 } } })
  t.same(own.cache?.shared, { redis: fakeClient, prefix: 'shop:', ttl: 0, timeout: 50, lockTtl: 0 })
  t.equal(own.cache?.shared?.redis, fakeClient, 'the client itself, not a copy')
})

test('a non-object options value is refused by name', async (t) => {
  t.throws(() => normalizeOptions(null), { code: 'FST_SSR_INVALID_OPTION', message: /"options": expected an object, got null/ })
  t.throws(() => normalizeOptions('x.js'), { code: 'FST_SSR_INVALID_OPTION', message: /"options": expected an object, got "x.js"/ })
})

test('Fastify register options (prefix) are accepted alongside ours', async (t) => {
  t.doesNotThrow(() => normalizeOptions({ bundle: 'x.js', prefix: '/app' }))
})
