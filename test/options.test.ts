import { test } from 'tap'
import Fastify from 'fastify'
import ssrPlugin from '../dist/index.js'
import { normalizeOptions } from '../dist/options.js'
import { bundle } from './helpers/app'

const good = { bundle: bundle('rusty.js') }

// One case per message: the option named, and what was expected.
const cases: Array<[string, unknown, RegExp]> = [
  ['missing bundle', {}, /"bundle": expected the path of the server bundle, got undefined/],
  ['empty bundle', { bundle: '' }, /"bundle": expected the path/],
  ['bundle not a string', { bundle: 42 }, /"bundle": expected the path of the server bundle, got 42/],
  ['renderFunction not an identifier', { ...good, renderFunction: 'render page' }, /"renderFunction": expected a JavaScript identifier/],
  ['threads zero', { ...good, threads: 0 }, /"threads": expected an integer from 1 to 256, got 0/],
  ['threads fractional', { ...good, threads: 1.5 }, /"threads": expected an integer/],
  ['threads string', { ...good, threads: '2' }, /"threads": expected an integer from 1 to 256, got "2"/],
  ['maxQueue negative', { ...good, maxQueue: -1 }, /"maxQueue": expected an integer from 0/],
  ['renderTimeout zero', { ...good, renderTimeout: 0 }, /"renderTimeout": expected an integer from 1/],
  ['renderTimeout infinite', { ...good, renderTimeout: Infinity }, /"renderTimeout"/],
  ['globals array', { ...good, globals: [] }, /"globals": expected a plain object, got an array/],
  ['globals with a function', { ...good, globals: { fn: () => 1 } }, /"globals.fn": expected a structured-cloneable value/],
  ['retryAfter zero', { ...good, retryAfter: 0 }, /"retryAfter": expected an integer from 1 to 86400/],
  ['maxHeapMb negative', { ...good, maxHeapMb: -5 }, /"maxHeapMb": expected a positive number, got -5/],
  ['closeTimeout string', { ...good, closeTimeout: 'soon' }, /"closeTimeout": expected an integer/],
  ['unknown option', { ...good, treads: 2 }, /"treads": unknown option/],
  ['cache not an object', { ...good, cache: true }, /"cache": expected false or an object, got true/],
  ['cache unknown key', { ...good, cache: { hot: 1 } }, /"cache.hot": unknown option/],
  ['cache.hotEntries zero', { ...good, cache: { hotEntries: 0 } }, /"cache.hotEntries": expected an integer from 1/],
  ['cache.coldMaxBytes negative', { ...good, cache: { coldMaxBytes: -1 } }, /"cache.coldMaxBytes": expected an integer from 0/],
  ['cache.ttl fractional', { ...good, cache: { ttl: 0.5 } }, /"cache.ttl": expected an integer from 0/],
  ['cache.query not an array', { ...good, cache: { query: 'page' } }, /"cache.query": expected an array of parameter names/],
  ['cache.staleWhileRevalidate negative', { ...good, cache: { staleWhileRevalidate: -1 } }, /"cache.staleWhileRevalidate": expected an integer from 0 to \d+, got -1/],
  ['cache.staleIfError fractional', { ...good, cache: { staleIfError: 1.5 } }, /"cache.staleIfError": expected an integer from 0 to \d+, got 1.5/],
  ['maxRendersPerWorker zero', { ...good, maxRendersPerWorker: 0 }, /"maxRendersPerWorker": expected an integer from 1 to \d+, got 0/],
  ['maxRendersPerWorker string', { ...good, maxRendersPerWorker: '100' }, /"maxRendersPerWorker": expected an integer from 1 to \d+, got "100"/],
  ['watch not a boolean', { ...good, watch: 'yes' }, /"watch": expected true or false, got "yes"/]
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
  })
}

test('defaults are filled and the bundle path is resolved', async (t) => {
  const resolved = normalizeOptions({ bundle: 'relative/server.js' })
  t.equal(resolved.bundle, `${process.cwd()}/relative/server.js`)
  t.equal(resolved.renderFunction, 'renderPage')
  t.equal(resolved.maxQueue, 512)
  t.equal(resolved.renderTimeout, 10_000)
  t.ok(resolved.threads >= 1)
  t.same(resolved.cache, { hotEntries: 128, coldEntries: 1000, coldMaxBytes: 64 * 1024 * 1024, ttl: 300, staleWhileRevalidate: 0, staleIfError: 0, query: null })
  t.equal(resolved.maxRendersPerWorker, null, 'workers are not recycled unless asked')
  t.equal(resolved.watch, false)
  t.equal(normalizeOptions({ bundle: 'x.js', cache: false }).cache, null)
  t.same([...(normalizeOptions({ bundle: 'x.js', cache: { query: ['page'] } }).cache?.query ?? [])], ['page'])
})

test('a non-object options value is refused by name', async (t) => {
  t.throws(() => normalizeOptions(null), { code: 'FST_SSR_INVALID_OPTION', message: /"options": expected an object, got null/ })
  t.throws(() => normalizeOptions('x.js'), { code: 'FST_SSR_INVALID_OPTION', message: /"options": expected an object, got "x.js"/ })
})

test('Fastify register options (prefix) are accepted alongside ours', async (t) => {
  t.doesNotThrow(() => normalizeOptions({ bundle: 'x.js', prefix: '/app' }))
})
