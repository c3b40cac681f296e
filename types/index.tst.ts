// The package as a CommonJS project sees it (TypeScript `module: nodenext`, a .ts file in a CommonJS package);
// esm.tst.mts is the ES module side.
import Fastify, { type FastifyReply } from 'fastify'
import { expect, test } from 'tstyche'
import ssrPlugin, {
  errors, ssrPlugin as named, type SsrBundleInfo, type SsrMetrics, type SsrNamespace, type SsrOptions, type SsrRenderResult,
  type SsrSharedCacheOptions, type SsrSharedInvalidation, type SsrSharedTier
} from 'fastify-ssr-engine'

test('the default and named exports are the same plugin', () => {
  expect(named).type.toBe(ssrPlugin)
})

test('register takes SsrOptions and requires bundle', async () => {
  const app = Fastify()
  expect(app.register(ssrPlugin, { bundle: './dist/server.js' })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, {
    bundle: './dist/server.js',
    renderFunction: 'renderPage',
    threads: 2,
    maxQueue: 512,
    renderTimeout: 10_000,
    globals: { apiBase: '/api' },
    retryAfter: 2,
    maxHeapMb: 256,
    closeTimeout: 5_000,
    cache: { hotEntries: 128, coldEntries: 1000, coldMaxBytes: 1 << 26, ttl: 300, query: ['page'] }
  })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { cache: false, bundle: 'x.js' })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.mjs', browserGlobals: true })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.mjs', browserGlobals: 1 })).type.toRaiseError()
  expect(app.register(ssrPlugin, {})).type.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', threads: '2' })).type.toRaiseError()
  expect<SsrOptions['cache']>().type.toBe<import('fastify-ssr-engine').SsrCacheOptions | false | undefined>()
})

test('reply.ssr returns the reply; its arguments are optional', () => {
  const app = Fastify()
  app.get('/', async (request, reply) => {
    expect(reply.ssr()).type.toBe<FastifyReply>()
    expect(reply.ssr('/about', { user: 'x' }, { cache: false, key: 'k', renderTimeout: 100 })).type.toBe<FastifyReply>()
    expect(reply.ssr('/about', undefined, { cache: 'no' })).type.toRaiseError()
    return reply.ssr(request.url)
  })
})

test('fastify.ssr renders and invalidates from code', async () => {
  const app = Fastify()
  expect(app.ssr).type.toBe<SsrNamespace>()
  expect(await app.ssr.render('/')).type.toBe<SsrRenderResult>()
  expect((await app.ssr.render('/', { a: 1 })).html).type.toBe<string>()
  expect(app.ssr.invalidate('/', { a: 1 })).type.toBe<boolean>()
  expect(app.ssr.invalidatePrefix('/products')).type.toBe<number>()
  expect(app.ssr.clear()).type.toBe<number>()
  expect(app.ssr.version).type.toBe<string>()
})

test('errors are constructors with codes', () => {
  expect(new errors.FST_SSR_QUEUE_FULL().code).type.toBe<'FST_SSR_QUEUE_FULL'>()
})

test('metrics and purge options, and the metrics snapshot', async () => {
  const app = Fastify()
  expect(app.register(ssrPlugin, { bundle: 'x.js', metrics: false })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', metrics: { path: '/m', auth: async (request) => request.ip === '10.0.0.1' } })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', purge: { auth: () => true } })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', purge: {} })).type.toRaiseError()
  expect(app.ssr.metrics().renders.total).type.toBe<number>()
  expect(app.ssr.metrics().cache).type.toBe<SsrMetrics['cache']>()
})

test('cache.shared takes an ioredis client or a URL; app.ssr.shared reports and emits', async () => {
  const { Redis } = await import('ioredis')
  const app = Fastify()
  expect(app.register(ssrPlugin, { bundle: 'x.js', cache: { shared: { redis: 'redis://127.0.0.1:6379' } } })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, {
    bundle: 'x.js',
    cache: { ttl: 60, shared: { redis: new Redis(), prefix: 'shop:', ttl: 600, timeout: 100, lockTtl: 0 } }
  })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', cache: { shared: {} } })).type.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', cache: { shared: { redis: 6379 } } })).type.toRaiseError()
  expect<SsrSharedCacheOptions['lockTtl']>().type.toBe<number | undefined>()

  expect(app.ssr.shared).type.toBe<SsrSharedTier | null>()
  const shared = app.ssr.shared
  if (shared !== null) {
    expect(shared.connected).type.toBe<boolean>()
    expect(shared.on('up', () => {})).type.toBe<SsrSharedTier>()
    shared.on('invalidation', (event) => {
      expect(event).type.toBe<SsrSharedInvalidation>()
      expect(event.type).type.toBe<'key' | 'prefix' | 'clear'>()
      expect(event.remote).type.toBe<boolean>()
    })
    expect(shared.on('resync', (event: string) => event)).type.toRaiseError()
  }
  expect(app.ssr.metrics().cache?.shared?.errors.timeouts).type.toBe<number | undefined>()
})

test('stale windows, recycling and watch are options; reload() resolves the new bundle', async () => {
  const app = Fastify()
  expect(app.register(ssrPlugin, {
    bundle: 'x.js',
    maxRendersPerWorker: 10_000,
    watch: true,
    cache: { ttl: 60, staleWhileRevalidate: 30, staleIfError: 86_400 }
  })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', watch: 'yes' })).type.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', cache: { staleIfError: '1d' } })).type.toRaiseError()
  expect(app.ssr.reload()).type.toBe<Promise<SsrBundleInfo>>()
  expect(app.ssr.reload('./dist/server.next.js')).type.toBe<Promise<SsrBundleInfo>>()
  expect(app.ssr.reload(42)).type.toRaiseError()
  expect((await app.ssr.reload()).version).type.toBe<string>()
  expect(app.ssr.metrics().cache?.stale.revalidate).type.toBe<number | undefined>()
  expect(app.ssr.metrics().bundle.reloads).type.toBe<{ succeeded: number, failed: number }>()
})
