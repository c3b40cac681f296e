import { request as httpRequest } from 'node:http'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { test, type Test } from 'tap'
import ssrPlugin from '../dist/index.js'
import { bundle } from './helpers/app'

// A page (a hit, or one just rendered) is written with Node's writeHead()/end() at once when nothing of Fastify's
// would change it (lib/http/direct.ts).
// What reaches the client must be what reply.send() writes: each case is compared with the same app made to take
// Fastify's path by an onSend hook that changes nothing.

const counter = bundle('counter.js')

interface Raw { status: number, headers: string[][], body: Buffer }

interface Server {
  get: (path: string, headers?: Record<string, string>) => Promise<Raw>
  /** For each response so far: whether it was a direct write (writeHead() given a flat list, or no headers). */
  direct: boolean[]
  /** For each response so far, how writeHead() got its headers: 'record' (Node's own, set before), 'list', 'object'. */
  forms: string[]
}

type Configure = (app: FastifyInstance) => void

async function serve (t: Test, configure?: Configure, logs?: string[]): Promise<Server> {
  const stream = new Writable({ write (chunk, _encoding, done) { logs?.push(String(chunk)); done() } })
  const app = Fastify({ logger: logs === undefined ? false : { level: 'info', stream } })
  await app.register(ssrPlugin, { bundle: counter, threads: 1 })
  const direct: boolean[] = []
  const forms: string[] = []
  // Watching writeHead() takes no part in what is sent: an onRequest hook leaves the direct write possible.
  app.addHook('onRequest', (request, reply, done) => {
    const writeHead = reply.raw.writeHead
    reply.raw.writeHead = function (this: unknown, ...args: unknown[]) {
      // Fastify's send gives writeHead() its header object; a direct write a list, or nothing (Node's record).
      const form = args[1] === undefined ? 'record' : Array.isArray(args[1]) ? 'list' : 'object'
      forms.push(form)
      direct.push(form !== 'object')
      return (writeHead as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof writeHead
    done()
  })
  configure?.(app)
  app.get('/*', (request, reply) => reply.ssr(request.url))
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const get = async (path: string, headers: Record<string, string> = {}): Promise<Raw> => await new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const pairs: string[][] = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]])
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) })
      })
    }).on('error', reject).end()
  })
  return { get, direct, forms }
}

/** The headers that say the same in both apps: Date is the clock's, Age and Last-Modified the render's second. */
function comparable (raw: Raw): string[][] {
  return raw.headers.filter(([name]) => name !== 'date' && name !== 'age' && name !== 'last-modified').sort((a, b) => a[0].localeCompare(b[0]))
}

const passThrough: Configure = (app) => {
  app.addHook('onSend', (request, reply, payload, done) => { done(null, payload) })
}

test('a hit written directly is byte for byte what reply.send() writes: every encoding, 304s, a status set before', async (t) => {
  const direct = await serve(t, (app) => {
    app.get('/coded/*', (request, reply) => reply.code(203).ssr(request.url))
  })
  const viaSend = await serve(t, (app) => {
    passThrough(app)
    app.get('/coded/*', (request, reply) => reply.code(203).ssr(request.url))
  })
  const cases: Array<[string, Record<string, string>]> = [
    ['/page', {}],
    ['/big?size=6000', { 'accept-encoding': 'br' }],
    ['/big?size=6000', { 'accept-encoding': 'gzip' }],
    ['/big?size=6000', { 'accept-encoding': 'deflate' }],
    ['/big?size=6000', {}],
    ['/coded/a', {}]
  ]
  for (const server of [direct, viaSend]) {
    for (const [path] of cases) await server.get(path) // each page rendered and stored once
    server.direct.length = 0
  }
  for (const [path, headers] of cases) {
    const [a, b] = [await direct.get(path, headers), await viaSend.get(path, headers)]
    const label = `${path} ${JSON.stringify(headers)}`
    t.equal(a.status, b.status, `${label}: status`)
    t.same(comparable(a), comparable(b), `${label}: headers`)
    t.ok(a.body.equals(b.body), `${label}: body`)
    t.ok(a.headers.some(([name, value]) => name === 'x-ssr-cache' && value === 'HIT-HOT'), `${label}: a hit`)
    t.match(a.headers.find(([name]) => name === 'age')?.[1], /^\d+$/, `${label}: Age`)
    const etag = a.headers.find(([name]) => name === 'etag')?.[1] ?? ''
    const [c, d] = [await direct.get(path, { ...headers, 'if-none-match': etag }), await viaSend.get(path, { ...headers, 'if-none-match': etag })]
    t.equal(c.status, 304, `${label}: revalidated`)
    t.equal(d.status, 304)
    t.same(comparable(c), comparable(d), `${label}: 304 headers`)
    t.equal(c.body.byteLength, 0)
  }
  t.equal((await direct.get('/coded/a')).status, 203, 'reply.code() before reply.ssr() is kept')
  t.ok(direct.direct.length > 0 && direct.direct.every(Boolean), 'every hit of the plain app was written directly')
  t.ok(viaSend.direct.length > 0 && !viaSend.direct.some(Boolean), 'with an onSend hook, never')
})

test('an onSend hook still sees and may change a hit; headers set before reply.ssr() are sent', async (t) => {
  const server = await serve(t, (app) => {
    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('x-seen', 'yes')
      done(null, request.url === '/changed' ? 'changed by a hook' : payload)
    })
  })
  const withHeader = await serve(t, (app) => {
    app.addHook('preHandler', (request, reply, done) => { reply.header('x-frame-options', 'DENY'); done() })
  })
  for (const path of ['/changed', '/kept']) await server.get(path)
  const changed = await server.get('/changed')
  t.equal(changed.body.toString(), 'changed by a hook')
  t.ok(changed.headers.some(([name, value]) => name === 'x-seen' && value === 'yes'))
  t.match((await server.get('/kept')).body.toString(), /url=\/kept/)
  await withHeader.get('/x')
  const hit = await withHeader.get('/x')
  t.ok(hit.headers.some(([name, value]) => name === 'x-frame-options' && value === 'DENY'), "a hook's header is sent with the hit")
  t.ok(hit.headers.some(([name, value]) => name === 'x-ssr-cache' && value === 'HIT-HOT'))
  t.same(withHeader.direct, [false, false], 'with a header set before, Fastify sends it')
  t.same(server.direct, [false, false, false, false])
})

test('onResponse hooks and the request log see a direct write as they see reply.send()', async (t) => {
  const logs: string[] = []
  const seen: Array<Record<string, unknown>> = []
  const server = await serve(t, (app) => {
    app.addHook('onResponse', (request, reply: FastifyReply, done) => {
      seen.push({ status: reply.statusCode, cache: reply.getHeader('x-ssr-cache'), length: reply.getHeader('content-length'), type: reply.getHeader('content-type'), sent: reply.sent })
      done()
    })
  }, logs)
  await server.get('/logged')
  const hit = await server.get('/logged')
  t.same(server.direct, [true, true], 'the rendered page and the hit both written directly')
  const length = hit.headers.find(([name]) => name === 'content-length')?.[1]
  t.same(seen[1], { status: 200, cache: 'HIT-HOT', length, type: 'text/html; charset=utf-8', sent: true })
  t.same(seen[0].cache, 'MISS')
  const completed = logs.map((line) => JSON.parse(line) as { msg: string, res?: { statusCode: number } }).filter((line) => line.msg === 'request completed')
  t.equal(completed.length, 2, 'both requests logged as completed')
  t.equal(completed[1].res?.statusCode, 200)
})

test('trailers take the ordinary path', async (t) => {
  const server = await serve(t, (app) => {
    app.get('/trailed', (request, reply) => reply.trailer('x-done', (_reply, _payload, done) => { done(null, 'yes') }).ssr(request.url))
  })
  await server.get('/trailed')
  const hit = await server.get('/trailed')
  t.ok(hit.headers.some(([name, value]) => name === 'trailer' && value === 'x-done'))
  t.match(hit.body.toString(), /url=\/trailed/)
  t.same(server.direct, [false, false])
})

test("a hit's checked headers go to Node as its own record, shared by hits; a list value or a header set on the response take writeHead()'s checks", async (t) => {
  const setsRaw: Configure = (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url.startsWith('/raw')) reply.raw.setHeader('x-set-on-raw', 'kept')
      done()
    })
  }
  const raw = await serve(t, setsRaw)
  const viaSend = await serve(t, (app) => { setsRaw(app); passThrough(app) })
  for (const server of [raw, viaSend]) {
    for (const path of ['/page', '/linked', '/raw']) await server.get(path)
    server.direct.length = server.forms.length = 0
  }
  for (const path of ['/page', '/linked', '/raw']) {
    const [a, b] = [await raw.get(path), await viaSend.get(path)]
    t.same(comparable(a), comparable(b), `${path}: the headers reply.send() writes`)
    t.ok(a.body.equals(b.body), `${path}: body`)
  }
  t.same(raw.forms, ['record', 'list', 'list'], 'a plain hit uses the record; a Link list and a raw header, the list')
  const linked = await raw.get('/linked')
  t.same(linked.headers.filter(([name]) => name === 'link').map(([, value]) => value), ['</a.css>; rel=preload; as=style', '</b.js>; rel=modulepreload'])
  t.ok((await raw.get('/raw')).headers.some(([name, value]) => name === 'x-set-on-raw' && value === 'kept'))

  // Two hits in a row share one frozen record (Age and x-ssr-cache are the same within a second, or it is remade).
  const records: unknown[] = []
  const watched = await serve(t, (app) => {
    app.addHook('onResponse', (request, reply, done) => {
      const key = Object.getOwnPropertySymbols(reply.raw).find((symbol) => symbol.description === 'kOutHeaders')
      records.push(key === undefined ? undefined : (reply.raw as unknown as Record<symbol, unknown>)[key])
      done()
    })
  })
  await watched.get('/shared')
  for (let i = 0; i < 3; i++) await watched.get('/shared')
  const hits = records.slice(1)
  t.ok(hits.every((record) => Object.isFrozen(record)), 'the shared record is frozen')
  t.ok(hits.some((record, i) => i > 0 && record === hits[i - 1]), 'consecutive hits share it')
  t.equal(Object.getPrototypeOf(hits[0]), null, 'no inherited names read as headers')
})
