import { test } from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { once } from 'node:events'
import { bundle, startApp } from './helpers/app'
import { rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'

/**
 * Runs a script in a child process and waits for it to exit by itself. If a worker or a handle stayed alive it would
 * never exit: the test runner's timeout catches that.
 */
async function runChild (script: string): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['-e', script], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk) => { out += chunk })
  const [code] = await once(child, 'exit')
  return { code, out }
}

test('a process with the plugin registered exits by itself after app.close()', async (t) => {
  const script = `
    const Fastify = require('fastify')
    const ssrPlugin = require(${JSON.stringify(join(__dirname, '..'))})
    const app = Fastify()
    app.register(ssrPlugin, { bundle: ${JSON.stringify(join(__dirname, 'fixtures', 'bundles', 'rusty.js'))}, browserGlobals: true, threads: 2 })
    app.get('/', (request, reply) => reply.ssr('/'))
    app.listen({ host: '127.0.0.1', port: 0 }).then(async () => {
      const res = await app.inject('/')
      console.log('status', res.statusCode)
      await app.close()
      console.log('closed')
    })`
  const { code, out } = await runChild(script)
  t.equal(code, 0)
  t.match(out, 'status 200')
  t.match(out, 'closed')
})

test('close lets renders in flight and queued finish, refuses new renders with FST_SSR_CLOSING, still serves hits', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js') })
  await engine.serve('/cached')
  const held = engine.serve('/hold/in-flight')
  await gate.started('/hold/in-flight')
  const queued = engine.serve('/queued')
  const closed = engine.close()
  const refused = await rejection(t, engine.serve('/new'))
  t.equal(refused.code, 'FST_SSR_CLOSING')
  t.equal(refused.statusCode, 503)
  t.equal((await engine.serve('/cached')).cache, 'HIT-HOT', 'a hit costs no render and is served')
  const joined = engine.serve('/hold/in-flight')
  gate.release('/hold/in-flight')
  t.equal((await held).bodies.identity.toString(), '<main>/hold/in-flight</main>', 'the render in flight finished')
  t.equal((await joined).status, 200, 'a request joining it was served')
  t.equal((await queued).bodies.identity.toString(), '<main>/queued</main>', 'the queued render ran too')
  await closed
  t.equal((await rejection(t, engine.serve('/after'))).code, 'FST_SSR_CLOSING')
})

test('at closeTimeout the renders still running or queued are stopped and answered FST_SSR_CLOSING', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('hang.js'), closeTimeout: 200 })
  const spinning = rejection(t, engine.serve('/spin', undefined, { renderTimeout: 60_000 }))
  await gate.started('/spin')
  const queued = rejection(t, engine.serve('/queued', undefined, { renderTimeout: 60_000 }))
  await engine.close()
  for (const error of [await spinning, await queued]) {
    t.equal(error.code, 'FST_SSR_CLOSING')
    t.equal(error.statusCode, 503)
  }
})

test('over HTTP app.close() serves the request in flight, answers a late render 503 and completes', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  let arrived: () => void = () => {}
  const lateArrived = new Promise<void>((resolve) => { arrived = resolve })
  let proceed: () => void = () => {}
  const lateMayRender = new Promise<void>((resolve) => { proceed = resolve })
  let closing: () => void = () => {}
  const closeBegan = new Promise<void>((resolve) => { closing = resolve })
  const { app, get } = await startApp(t, { bundle: bundle('gate.js') }, undefined, (app) => {
    // Registered after the plugin, so it runs once the plugin has stopped admitting renders.
    app.addHook('preClose', async () => { closing() })
    // A handler that was already running when close began and asks for a render afterwards.
    app.get('/late', async (request, reply) => {
      arrived()
      await lateMayRender
      return reply.ssr('/late-page')
    })
  })
  const held = get('/hold/request')
  await gate.started('/hold/request')
  const late = get('/late')
  await lateArrived
  const closed = app.close()
  await closeBegan
  proceed()
  const refused = await late
  t.equal(refused.status, 503)
  t.equal(refused.headers.get('connection'), 'close', 'no keep-alive connection holds the close open')
  t.same(await refused.json(), { statusCode: 503, code: 'FST_SSR_CLOSING', error: 'Service Unavailable', message: 'Server is shutting down' })
  gate.release('/hold/request')
  const served = await held
  t.equal(served.status, 200)
  t.equal(served.headers.get('connection'), 'close')
  t.equal(await served.text(), '<main>/hold/request</main>')
  await closed
})

test('a process closing with a render stuck past closeTimeout answers it 503 and exits by itself', async (t) => {
  const script = `
    const Fastify = require('fastify')
    const ssrPlugin = require(${JSON.stringify(join(__dirname, '..'))})
    const app = Fastify()
    app.register(ssrPlugin, { bundle: ${JSON.stringify(join(__dirname, 'fixtures', 'bundles', 'hang.js'))}, threads: 2, closeTimeout: 100 })
    app.get('/*', (request, reply) => reply.ssr(request.url))
    const gate = new BroadcastChannel('ssr-gate')
    app.listen({ host: '127.0.0.1', port: 0 }).then(async (base) => {
      const stuck = fetch(base + '/spin')
      await new Promise((resolve) => { gate.onmessage = resolve })
      gate.close()
      const closed = app.close()
      const res = await stuck
      console.log('status', res.status, (await res.json()).code)
      await closed
      console.log('closed')
    })`
  const { code, out } = await runChild(script)
  t.equal(code, 0)
  t.match(out, 'status 503 FST_SSR_CLOSING')
  t.match(out, 'closed')
})
