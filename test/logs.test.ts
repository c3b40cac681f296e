import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import ssrPlugin, { type SsrOptions } from '../dist/index.js'
import { RateLimitedLog } from '../dist/limited-log.js'
import { bundle } from './helpers/app'
import { Gate } from './helpers/gate'

interface Line { level: number, msg: string, [field: string]: unknown }

/** A server whose log lines (pino JSON) are collected, at `level` and above; closed when the test ends. */
async function logged (t: Test, options: Partial<SsrOptions> & { bundle: string }, level = 'info'): Promise<{ app: FastifyInstance, lines: Line[] }> {
  const lines: Line[] = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const app = Fastify({ logger: { level, stream } })
  await app.register(ssrPlugin, { threads: 1, ...options })
  app.get('/*', (request, reply) => reply.ssr())
  t.teardown(() => app.close())
  return { app, lines }
}

const atLeastWarn = (lines: Line[]): Line[] => lines.filter((line) => line.level >= 40)

test('startup says which bundle, version, threads and cache bounds', async (t) => {
  const { app, lines } = await logged(t, { bundle: bundle('rusty.js'), cache: { hotMaxBytes: 1 << 20 } })
  const line = lines.find((entry) => entry.msg === 'SSR engine started')
  t.match(line, {
    level: 30,
    bundle: bundle('rusty.js'),
    version: app.ssr.version,
    threads: 1,
    cache: { hotEntries: 128, hotMaxBytes: 1 << 20, coldEntries: 1000, coldMaxBytes: 64 << 20, shared: false }
  })
})

test('a flood of 503s is one warn line without a stack, then one line with the count of the others', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { app, lines } = await logged(t, { bundle: bundle('gate.js'), maxQueue: 0 }, 'warn')
  const held = app.inject('/hold/busy')
  await gate.started('/hold/busy')
  const shed = await Promise.all(Array.from({ length: 50 }, async (_, i) => await app.inject(`/page/${i}`)))
  t.ok(shed.every((res) => res.statusCode === 503 && res.headers['retry-after'] !== undefined))
  t.same(shed[0].json(), { statusCode: 503, code: 'FST_SSR_QUEUE_FULL', error: 'Service Unavailable', message: 'Render queue is full, retry later' })
  t.equal(lines.length, 1, 'one line for 50 shed requests')
  t.match(lines[0], { level: 40, code: 'FST_SSR_QUEUE_FULL', statusCode: 503, url: '/page/0' })
  t.notOk('err' in lines[0] || 'stack' in lines[0], 'no error object, no stack')
  gate.release('/hold/busy')
  t.equal((await held).statusCode, 200)
  await app.close()
  t.equal(lines.length, 2, 'closing reports what was not logged')
  t.match(lines[1], { level: 40, code: 'FST_SSR_QUEUE_FULL', suppressed: 49 })
})

test('a render stopped at its deadline: a 504 shed line, and a line saying its worker was terminated', async (t) => {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { app, lines } = await logged(t, { bundle: bundle('hang.js'), renderTimeout: 300 }, 'warn')
  const res = await app.inject('/spin')
  t.equal(res.statusCode, 504)
  t.equal(res.json().code, 'FST_SSR_RENDER_TIMEOUT')
  const terminated = lines.find((line) => /its worker was terminated/.test(line.msg))
  t.match(terminated, { level: 40, renderTimeout: 300, threadId: Number })
  t.match(lines.find((line) => line.code === 'FST_SSR_RENDER_TIMEOUT'), { level: 40, statusCode: 504 })
  t.equal(lines.length, 2, 'nothing else: no error line with a stack')
  // Its own deadline: the replacement worker may take longer than 300 ms to start on a busy machine.
  t.equal((await app.ssr.render('/fine', undefined, { renderTimeout: 60_000 })).status, 200, 'the new worker serves')
})

test('a worker that dies in a render: one error line for the request (with the cause), one warn line for the worker', async (t) => {
  const { app, lines } = await logged(t, { bundle: bundle('crash.js') }, 'warn')
  const res = await app.inject('/exit')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SSR_WORKER_CRASHED')
  t.equal(atLeastWarn(lines).length, 2)
  t.match(lines.find((line) => line.level === 50), { err: { code: 'FST_SSR_WORKER_CRASHED' }, req: { url: '/exit' } })
  t.match(lines.find((line) => line.level === 40), { msg: /SSR worker died during a render/, threadId: Number })
})

test('RateLimitedLog: one line per key per interval; the count of the rest when the interval ends', async (t) => {
  let now = 0
  const written: Array<{ level: string, object: Record<string, unknown>, message: string }> = []
  const log = {
    warn: (object: object, message: string) => written.push({ level: 'warn', object: object as Record<string, unknown>, message }),
    error: (object: object, message: string) => written.push({ level: 'error', object: object as Record<string, unknown>, message })
  }
  const limited = new RateLimitedLog(10_000, () => now)
  for (let i = 0; i < 5; i++) limited.write(log, 'warn', 'a', { i }, 'shed')
  limited.write(log, 'error', 'b', {}, 'other key')
  t.equal(written.length, 2, 'the first of each key')
  now = 10_000
  limited.write(log, 'warn', 'a', { i: 5 }, 'shed')
  t.equal(written.length, 4, 'past the interval: the count of the four suppressed, then the new line')
  t.match(written[2], { object: { suppressed: 4 } })
  t.same(written[3].object, { i: 5 })
  limited.flush(log)
  t.equal(written.length, 4, 'nothing suppressed since')
})
