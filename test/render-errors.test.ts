import { test } from 'tap'
import Fastify from 'fastify'
import ssrPlugin from '../dist/index.js'
import { bundle, startApp } from './helpers/app'

for (const path of ['/boom', '/reject', '/throw-string']) {
  test(`a render that fails (${path}) is a 500 FST_SSR_RENDER_FAILED that reveals nothing, and the next render works`, async (t) => {
    const { get } = await startApp(t, { bundle: bundle('throws.js') })
    const res = await get(path)
    t.equal(res.status, 500)
    const body = await res.json()
    t.same(body, { statusCode: 500, code: 'FST_SSR_RENDER_FAILED', error: 'Internal Server Error', message: 'Render failed' })
    t.notMatch(JSON.stringify(body), /SECRET|at |\.js:/, 'neither message nor stack in the body')
    const next = await get('/fine')
    t.equal(next.status, 200)
    t.equal(await next.text(), '<main>fine /fine</main>')
  })
}

test('the failure is logged once, at error level, with the request id, URL, message and stack', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(ssrPlugin, { bundle: bundle('throws.js'), threads: 1 })
  app.get('/*', (request, reply) => reply.ssr())
  t.teardown(() => app.close())
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 500)
  // Fastify's error handler logs it, with the bundle's error as the cause; the plugin adds no second line.
  t.equal(lines.length, 1, 'one line at warn or above')
  const logged = lines[0] as { level: number, reqId: string, req: { url: string }, err: { message: string, stack: string, code: string } }
  t.equal(logged.level, 50)
  t.ok(logged.reqId, 'carries the request id')
  t.equal(logged.req.url, '/boom')
  t.equal(logged.err.code, 'FST_SSR_RENDER_FAILED')
  t.match(logged.err.message, 'SECRET-db-password in render')
  t.match(logged.err.stack, 'throws.js', 'the stack points into the bundle')
})

test('app.ssr.render() rejects with the coded error; the cause is on error.cause for the developer', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('throws.js') })
  const error = await app.ssr.render('/boom').catch((err: Error & { code: string, cause: Error }) => err)
  t.equal((error as { code: string }).code, 'FST_SSR_RENDER_FAILED')
  t.equal((error as Error).message, 'Render failed')
  t.match(((error as Error).cause as Error).message, 'SECRET-db-password')
})

const unsafe = ['/crlf-value', '/lf-value', '/bad-name', '/crlf-name', '/content-length', '/transfer-encoding',
  '/status-low', '/status-float', '/status-string', '/no-html', '/number', '/null', '/header-object']

test('results that could split or corrupt a response fail with FST_SSR_INVALID_RESULT and never reach the socket', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('bad-results.js') })
  for (const path of unsafe) {
    const res = await get(path)
    t.equal(res.status, 500, path)
    t.equal(res.headers.get('set-cookie'), null, `${path}: no injected header`)
    t.equal(res.headers.get('x-a'), null, `${path}: the bad header is not sent`)
    t.same(await res.json(), { statusCode: 500, code: 'FST_SSR_INVALID_RESULT', error: 'Internal Server Error', message: 'Render returned an invalid result' }, path)
  }
  const ok = await get('/ok-array')
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('x-multi'), 'a, b', 'arrays become repeated headers')
  t.equal(ok.headers.get('x-upper'), '7', 'names are lower-cased, numbers stringified')
})

test('data that cannot be cloned to a worker is a coded 500, not a crash, and the pool keeps serving', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('throws.js') })
  const error = await app.ssr.render('/fine', { callback: () => 1 }, { cache: false }).catch((err: Error & { code: string }) => err)
  t.equal((error as { code: string }).code, 'FST_SSR_INVALID_DATA')
  t.equal((error as { statusCode: number }).statusCode, 500)
  t.match(((error as Error).cause as Error).name, 'DataCloneError')
  const { renders } = app.ssr.metrics()
  t.equal(renders.crashes, 0)
  t.equal(renders.errors, 1)
  t.equal((await app.ssr.render('/fine')).status, 200)
})
