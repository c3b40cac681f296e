import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import Fastify from 'fastify'
import { test } from 'tap'
import ssrPlugin from '../dist/index.js'
import { bundle, startApp } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'

// `threads: 0`: the bundle renders in the main thread (lib/render/inline.ts). The same pages, headers and errors
// as through a worker; what it gives up (a synchronous loop cannot be stopped) is documented, not tested.

test('threads: 0 sends the same pages as a worker: status, headers, every encoding, ETag', async (t) => {
  const inline = await startApp(t, { bundle: bundle('big-pages.js'), threads: 0 })
  const worker = await startApp(t, { bundle: bundle('big-pages.js'), threads: 1 })
  for (const encoding of ['identity', 'br', 'gzip']) {
    for (const round of ['miss', 'hit']) {
      const path = `/page?size=30000&e=${encoding}`
      const [a, b] = await Promise.all([inline, worker].map(async (server) => await server.get(path, { headers: { 'accept-encoding': encoding } })))
      t.equal(a.status, 200)
      t.equal(a.headers.get('x-ssr-cache'), round === 'miss' ? 'MISS' : 'HIT-HOT', `${encoding} ${round}`)
      for (const name of ['content-type', 'content-encoding', 'content-length', 'etag', 'vary', 'cache-control', 'x-ssr-cache']) {
        t.equal(a.headers.get(name), b.headers.get(name), `${encoding} ${round}: ${name}`)
      }
      t.same(Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer()), `${encoding} ${round}: the same body`)
    }
  }
  t.equal(inline.app.ssr.metrics().pool.threads, 0, 'no worker thread')
})

test('threads: 0 refuses the options that only mean something for worker threads', async (t) => {
  for (const [name, value] of [['maxHeapMb', 64], ['maxRendersPerWorker', 10], ['pinThreads', true]] as const) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    app.register(ssrPlugin, { bundle: bundle('counter.js'), threads: 0, [name]: value })
    const error = await app.ready().then(() => null, (error: Error & { code?: string }) => error)
    t.equal(error?.code, 'FST_SSR_INVALID_OPTION', name)
    t.match(error?.message, new RegExp(`"${name}".*threads: 0`), name)
  }
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(ssrPlugin, { bundle: bundle('counter.js'), threads: 0, pinThreads: false })
  await app.ready()
  t.equal(app.ssr.metrics().pool.threads, 0, 'pinThreads: false is not a request to pin')
})

test('threads: 0 with a broken bundle fails ready() with FST_SSR_BUNDLE_LOAD', async (t) => {
  for (const [name, cause] of [['load-throws.js', /bundle exploded at load/], ['syntax-error.js', /SyntaxError|Unexpected/], ['no-render.js', /no render function found/]] as const) {
    const app = Fastify({ logger: false })
    app.register(ssrPlugin, { bundle: bundle(name), threads: 0 })
    const error = await app.ready().then(() => null, (error: Error & { code?: string }) => error)
    await app.close()
    t.equal(error?.code, 'FST_SSR_BUNDLE_LOAD', name)
    t.match(error?.message, cause, name)
  }
})

test('threads: 0: a bundle that never finishes loading fails ready() at startTimeout instead of holding the server', async (t) => {
  const app = Fastify({ logger: false })
  app.register(ssrPlugin, { bundle: bundle('load-hangs.js'), threads: 0, startTimeout: 300 })
  const error = await app.ready().then(() => null, (error: Error & { code?: string }) => error)
  await app.close()
  t.equal(error?.code, 'FST_SSR_BUNDLE_LOAD')
  t.match(error?.message, /timed out after 300ms/)
})

test('threads: 0: a render that never settles is a 504 at its deadline, nothing is cached, the server goes on', async (t) => {
  const { engine } = await startEngine(t, { bundle: bundle('hang.js'), threads: 0 })
  const error = await rejection(t, engine.serve('/never', undefined, { key: 'page', renderTimeout: 200 }))
  t.equal(error.code, 'FST_SSR_RENDER_TIMEOUT')
  t.equal(error.statusCode, 504)
  const next = await engine.serve('/fine', undefined, { key: 'page' })
  t.equal(next.cache, 'MISS', 'the timed-out render stored nothing')
  t.equal(engine.snapshot().renders.timeouts, 1)
  t.equal(engine.poolStats().workerRestarts, 0, 'there is no worker to replace')
})

test('threads: 0: a failing render is a 500 that leaks nothing; the server keeps serving', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('throws.js'), threads: 0 })
  for (const path of ['/boom', '/reject', '/throw-string']) {
    const res = await get(path)
    t.equal(res.status, 500, path)
    t.notMatch(await res.text(), /SECRET/, `${path}: no message from the bundle`)
  }
  const res = await get('/ok')
  t.equal(res.status, 200)
  t.equal(await res.text(), '<main>fine /ok</main>')
})

test('threads: 0: the bundle gets a copy of the data; data no worker could take fails as it would with one', async (t) => {
  const { engine } = await startEngine(t, { bundle: bundle('holds-handles.js'), threads: 0 })
  const data = { items: ['a'] }
  const page = await engine.serve('/copy', data, { cache: false })
  t.equal(page.bodies.identity.toString(), '<main>/copy {"items":["a","added by the bundle"]}</main>')
  t.same(data, { items: ['a'] }, "the route's object is unchanged")
  const error = await rejection(t, engine.serve('/fn', { render: () => {} }, { cache: false }))
  t.equal(error.code, 'FST_SSR_INVALID_DATA')
})

test('threads: 0: what the bundle opens (a listened port, an interval) does not keep the process alive after close()', async (t) => {
  // A process of its own: the test runner's would be held open by other things.
  const script = `
    const Fastify = require('fastify')
    const app = Fastify()
    app.register(require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))}), { bundle: ${JSON.stringify(bundle('holds-handles.js'))}, threads: 0 })
    app.get('/', (request, reply) => reply.ssr('/'))
    app.inject('/').then((res) => { process.stdout.write(res.statusCode + ' ' + res.body + '\\n'); return app.close() })
  `
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(__dirname, '..') })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  // Bounded, so a regression fails the test instead of hanging it.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [code, signal] = await once(child, 'exit') as [number | null, string | null]
  clearTimeout(killer)
  t.equal(out, '200 <main>/ null</main>\n', 'it rendered, through the channel')
  t.equal(signal, null, 'it exited by itself, not killed')
  t.equal(code, 0)
})

test('threads: 0, cache off: a page had at once is sent within reply.ssr(); a promise of one, or a failure, as before', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(ssrPlugin, { bundle: bundle('mixed.js'), threads: 0, renderTimeout: 300 })
  const sentInCall = new Map<string, boolean>()
  app.get('/*', (request, reply) => {
    const { url } = request
    const data = url.includes('loader=sync') ? () => ({}) : url.includes('loader=async') ? async () => ({}) : undefined
    reply.ssr(url, data, { cache: false })
    sentInCall.set(url, reply.sent)
    return reply
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const get = async (path: string): Promise<{ status: number, body: string }> => {
    const response = await fetch(base + path)
    return { status: response.status, body: await response.text() }
  }
  t.same(await get('/page'), { status: 200, body: '<main>/page</main>' })
  t.equal(sentInCall.get('/page'), true, 'a synchronous render: sent before reply.ssr() returned')
  t.same(await get('/page?loader=sync'), { status: 200, body: '<main>/page?loader=sync</main>' })
  t.equal(sentInCall.get('/page?loader=sync'), true, 'a loader that answers at once too')
  t.same(await get('/page?loader=async'), { status: 200, body: '<main>/page?loader=async</main>' })
  t.equal(sentInCall.get('/page?loader=async'), false, 'a loader that has to be waited for: sent later')
  const failed = await get('/fail')
  t.equal(failed.status, 500, 'a render that throws at once is a 500')
  t.notMatch(failed.body, /on purpose/, 'that leaks nothing of the error')
  t.equal(sentInCall.get('/fail'), true, 'and is answered within the call as well')
  const hung = await get('/hang')
  t.equal(hung.status, 504, 'a render that never settles is answered by its deadline')
  t.match(hung.body, /FST_SSR_RENDER_TIMEOUT/)
  t.equal(sentInCall.get('/hang'), false)
  t.same(await get('/page'), { status: 200, body: '<main>/page</main>' }, 'and the server goes on serving')
})
