import { connect, type Socket } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { test, type Test } from 'tap'
import { replySsr } from '../dist/http/reply.js'
import { ringBytes } from '../dist/render/body-ring.js'
import { RateLimitedLog } from '../dist/limited-log.js'
import { bundle } from './helpers/app'
import { startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { until } from './helpers/until'

// Pages sent once (cache off) come from a worker as bytes in its ring (lib/render/body-ring.ts), which the main
// thread writes from and then frees for the worker to write again (lib/http/leased.ts). What must hold: no body is
// written over while a response still needs it, every body is freed once sent, and pages keep going out (as
// transferred bytes) while the ring is held up. gate.js renders `?kb=N` pages of about N KiB, distinct per URL.

type Engine = Awaited<ReturnType<typeof startEngine>>['engine']

interface Served { app: FastifyInstance, engine: Engine, port: number, gate: Gate }

/** The engine on gate.js with the cache off, behind reply.ssr() on a real server. */
async function serve (t: Test, threads: number, configure?: (app: FastifyInstance) => void): Promise<Served> {
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: bundle('gate.js'), cache: false, threads })
  const app = Fastify({ logger: false })
  app.decorateReply('ssr', replySsr(engine, new RateLimitedLog()))
  configure?.(app)
  app.get('/*', (request, reply) => (reply as unknown as { ssr: (url: string) => FastifyReply }).ssr(request.url))
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return { app, engine, gate, port: typeof address === 'object' && address !== null ? address.port : 0 }
}

/** What gate.js renders for `url`. */
function expected (url: string): string {
  const kb = Number(new URL(url, 'http://x').searchParams.get('kb') ?? 0)
  return `<main>${url}</main>` + (kb > 0 ? `${url} · é € 😀 `.repeat(Math.ceil(kb * 1024 / (url.length + 14))) : '')
}

async function fetchText (port: number, path: string): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${port}${path}`)).text()
}

/** Reads HTTP/1.1 responses with a Content-Length off a raw socket, in order. */
class RawResponses {
  #data = Buffer.alloc(0)
  readonly #waiting: Array<() => void> = []

  constructor (socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#data = Buffer.concat([this.#data, chunk])
      for (const wake of this.#waiting.splice(0)) wake()
    })
  }

  /** The next response's status line and body. */
  async next (): Promise<{ status: string, body: string }> {
    for (;;) {
      const end = this.#data.indexOf('\r\n\r\n')
      if (end !== -1) {
        const head = this.#data.subarray(0, end).toString('latin1')
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1])
        if (this.#data.length >= end + 4 + length) {
          const body = this.#data.subarray(end + 4, end + 4 + length).toString()
          this.#data = this.#data.subarray(end + 4 + length)
          return { status: head.split('\r\n')[0], body }
        }
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    }
  }
}

/**
 * Two requests on one connection: `/hold/<name>` is held in one worker; `/waiting/<name>?kb=100` renders in the other,
 * whose ring then holds its page while its response waits behind the first one's. Resolves once it does;
 * `finish()` lets the first render end and reads both responses, in order.
 */
async function pipelined (t: Test, { engine, gate, port }: Served, name: string): Promise<{ finish: () => Promise<Array<{ status: string, body: string }>> }> {
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  const responses = new RawResponses(socket)
  const held = `/hold/${name}`
  socket.write(`GET ${held} HTTP/1.1\r\nHost: x\r\n\r\nGET /waiting/${name}?kb=100 HTTP/1.1\r\nHost: x\r\n\r\n`)
  await gate.started(held)
  await until(() => engine.poolStats().ringBodiesHeld === 1)
  return {
    finish: async () => {
      gate.release(held)
      return [await responses.next(), await responses.next()]
    }
  }
}

const ok = (url: string): { status: string, body: string } => ({ status: 'HTTP/1.1 200 OK', body: expected(url) })

test('pages of every size come out whole under concurrent load, and every body is freed once sent', async (t) => {
  const { engine, port } = await serve(t, 2)
  // Up to 700 KiB: above a quarter of the ring, a page goes transferred instead.
  const sizes = [1, 5, 20, 64, 100, 300, 700]
  const urls = Array.from({ length: 140 }, (_, i) => `/page/${i}?kb=${sizes[i % sizes.length]}`)
  let next = 0
  const mismatches: string[] = []
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < urls.length) {
      const url = urls[next++]
      if (await fetchText(port, url) !== expected(url)) mismatches.push(url)
    }
  }))
  t.same(mismatches, [], 'every page as rendered')
  await until(() => engine.poolStats().ringBodiesHeld === 0)
  t.equal(engine.poolStats().ringBodiesHeld, 0, 'nothing held once every response is written')
})

test('a pipelined page that waits for the response before it is held, not overwritten, while pages go on being sent', async (t) => {
  const served = await serve(t, 2)
  const { engine, port } = served
  const { finish } = await pipelined(t, served, 'first')
  // 3 MiB of pages through the free worker: more than its ring holds, so a region freed too early would be rewritten.
  for (let i = 0; i < 30; i++) {
    const url = `/other/${i}?kb=100`
    t.equal(await fetchText(port, url), expected(url), `page ${i} sent while the ring is held up`)
  }
  // Those freed behind it stay counted until it is: the ring filled up, and the rest of the pages went transferred.
  const held = engine.poolStats().ringBodiesHeld
  t.ok(held > 1 && held * 100 * 1024 <= ringBytes, `a ring's worth held at most (${held} pages)`)
  t.same(await finish(), [ok('/hold/first'), ok('/waiting/first?kb=100')], 'the waiting page, intact')
  await until(() => engine.poolStats().ringBodiesHeld === 0)
  t.pass('freed once written')
})

test('a page whose client left before it was rendered is freed, not sent', async (t) => {
  const { engine, gate, port } = await serve(t, 1)
  const socket = connect(port, '127.0.0.1')
  socket.write('GET /hold/left?kb=50 HTTP/1.1\r\nHost: x\r\n\r\n')
  await gate.started('/hold/left?kb=50')
  socket.destroy()
  await until(() => engine.snapshot().renders.cancelled === 0 && socket.destroyed)
  gate.release('/hold/left?kb=50')
  // The render had started, so it ran to its end; its page found the response closed.
  await until(() => engine.poolStats().completed === 1)
  await until(() => engine.poolStats().ringBodiesHeld === 0)
  t.equal(await fetchText(port, '/after?kb=50'), expected('/after?kb=50'), 'the next page is sent as usual')
})

test('through Fastify\'s send path a page goes as a copy of its own: an onSend hook may keep it', async (t) => {
  const kept: Array<{ url: string, payload: Buffer }> = []
  const { engine, port } = await serve(t, 1, (app) => {
    // A hook of the application's that keeps what it is given, as a cache of its own would.
    app.addHook('onSend', async (request, reply, payload) => {
      if (Buffer.isBuffer(payload)) kept.push({ url: request.url, payload })
      return payload
    })
  })
  // 3 MiB, one page at a time: more than the ring holds, so kept payloads in it would have been written over.
  for (let i = 0; i < 30; i++) {
    const url = `/kept/${i}?kb=100`
    t.equal(await fetchText(port, url), expected(url))
    t.equal(engine.poolStats().ringBodiesHeld, 0, 'freed as soon as it was copied')
  }
  t.equal(kept.length, 30)
  t.same(kept.filter(({ url, payload }) => payload.toString() !== expected(url)).map(({ url }) => url), [], 'every kept payload is still the page it was')
})

test('a response whose end() was replaced on it gets a copy: the replacement may write after end() returns', async (t) => {
  const later: Array<() => void> = []
  const { engine, port } = await serve(t, 1, (app) => {
    // Express-style middleware (compression, output capture) replaces end() on the response; this one writes later.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url.startsWith('/later/')) {
        const end = reply.raw.end.bind(reply.raw)
        reply.raw.end = ((...args: Parameters<typeof end>) => { later.push(() => end(...args)); return reply.raw }) as typeof reply.raw.end
      }
      done()
    })
  })
  const url = '/later/page?kb=100'
  const response = fetchText(port, url)
  await until(() => later.length === 1)
  t.equal(engine.poolStats().ringBodiesHeld, 0, 'nothing held: the page was copied')
  // 3 MiB through the same worker's ring while the page waits to be written.
  for (let i = 0; i < 30; i++) await fetchText(port, `/meanwhile/${i}?kb=100`)
  later[0]()
  t.equal(await response, expected(url), 'the page as rendered')
})

test('a page held from the ring of a worker that has since died is still sent whole', async (t) => {
  const served = await serve(t, 2)
  const { engine, port } = served
  const { finish } = await pipelined(t, served, 'crash')
  // The other worker is busy holding: the worker whose ring holds the waiting page takes this one, and dies of it.
  const crashed = await fetch(`http://127.0.0.1:${port}/exit`)
  t.equal(crashed.status, 500)
  await until(() => engine.poolStats().workerRestarts === 1 && engine.poolStats().threads === 2)
  t.equal(engine.poolStats().ringBodiesHeld, 0, 'the replacement has a ring of its own')
  for (let i = 0; i < 30; i++) await fetchText(port, `/after-crash/${i}?kb=100`)
  t.same(await finish(), [ok('/hold/crash'), ok('/waiting/crash?kb=100')], 'the waiting page, intact')
})
