import { test } from 'tap'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { request } from 'undici'
import fastifyCompress from '@fastify/compress'
import { bundle, startApp, type Started } from './helpers/app'

const counter = bundle('counter.js')
const bigPage = '/big?size=8000'

/** Raw bytes and headers: undici's request() does not decode bodies, unlike fetch. */
async function raw (started: Started, path: string, headers: Record<string, string> = {}) {
  const res = await request(started.base + path, { headers })
  const body = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers as Record<string, string | undefined>, body }
}

function decode (encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'br') return brotliDecompressSync(body)
  if (encoding === 'gzip') return gunzipSync(body)
  return body
}

test('cached pages are served pre-compressed: br and gzip decode to the identity bytes', async (t) => {
  const started = await startApp(t, { bundle: counter })
  const first = await raw(started, bigPage, { 'accept-encoding': 'br' })
  t.equal(first.headers['x-ssr-cache'], 'MISS')
  t.equal(first.headers['content-encoding'], 'br', 'even the miss that rendered it is compressed')
  const identity = await raw(started, bigPage)
  t.equal(identity.headers['content-encoding'], undefined)
  t.equal(identity.headers['x-ssr-cache'], 'HIT-HOT')
  t.equal(Number(identity.headers['content-length']), identity.body.length)
  t.match(identity.body.toString(), 'url=/big?size=8000 renders=1 ')
  for (const [accept, encoding] of [['br', 'br'], ['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['br;q=0.1, gzip', 'gzip'], ['deflate', undefined], ['identity', undefined]] as const) {
    const res = await raw(started, bigPage, { 'accept-encoding': accept })
    t.equal(res.headers['content-encoding'], encoding, accept)
    t.equal(res.headers.vary, 'accept-encoding', 'lower case, as @fastify/compress writes it (see regression/http-details)')
    t.equal(Number(res.headers['content-length']), res.body.length, `${accept}: content-length is the sent body's`)
    t.same(decode(encoding, res.body), identity.body, `${accept}: decodes to the same page`)
    if (encoding !== undefined) t.ok(res.body.length < identity.body.length / 5, `${accept}: compressed`)
  }
})

test('ETags: one page, one base tag per encoding; If-None-Match answers 304 without a body', async (t) => {
  const started = await startApp(t, { bundle: counter })
  await raw(started, bigPage)
  const identity = await raw(started, bigPage)
  const br = await raw(started, bigPage, { 'accept-encoding': 'br' })
  const gzip = await raw(started, bigPage, { 'accept-encoding': 'gzip' })
  const tag = identity.headers.etag as string
  t.match(tag, /^"[A-Za-z0-9_-]{27}"$/)
  t.equal(br.headers.etag, tag.replace(/"$/, '-br"'))
  t.equal(gzip.headers.etag, tag.replace(/"$/, '-gzip"'))
  for (const candidate of [tag, br.headers.etag as string, `W/${tag}`, `"other", ${tag}`]) {
    const res = await raw(started, bigPage, { 'if-none-match': candidate, 'accept-encoding': 'br' })
    t.equal(res.status, 304, candidate)
    t.equal(res.body.length, 0)
    t.equal(res.headers.etag, br.headers.etag)
  }
  t.equal((await raw(started, bigPage, { 'if-none-match': '"stale"' })).status, 200)
})

test('ETag and bytes stay the same across hot → cold → hot; the cold tier keeps the compact form', async (t) => {
  const started = await startApp(t, { bundle: counter, cache: { hotEntries: 1 } })
  const first = await raw(started, bigPage)
  const hotStats = started.app.ssr.metrics().cache
  await raw(started, '/other-page') // pushes the big page to cold
  const coldStats = started.app.ssr.metrics().cache
  t.equal(coldStats?.entries.cold, 1)
  t.ok((coldStats?.bytes.cold ?? Infinity) < (hotStats?.bytes.hot ?? 0) / 3, `cold form ${coldStats?.bytes.cold} B vs hot ${hotStats?.bytes.hot} B`)
  const promoted = await raw(started, bigPage)
  t.equal(promoted.headers['x-ssr-cache'], 'HIT-COLD')
  t.equal(promoted.headers.etag, first.headers.etag)
  t.same(promoted.body, first.body, 'identity rebuilt byte for byte')
  const again = await raw(started, bigPage, { 'accept-encoding': 'gzip' })
  t.equal(again.headers['x-ssr-cache'], 'HIT-HOT')
  t.same(gunzipSync(again.body), first.body)
})

test('small pages stay uncompressed; compression: false turns it all off', async (t) => {
  const started = await startApp(t, { bundle: counter })
  await raw(started, '/small')
  const small = await raw(started, '/small', { 'accept-encoding': 'br, gzip' })
  t.equal(small.headers['x-ssr-cache'], 'HIT-HOT')
  t.equal(small.headers['content-encoding'], undefined)
  t.equal(small.headers.vary, undefined)

  const off = await startApp(t, { bundle: counter, compression: false })
  await raw(off, bigPage)
  const res = await raw(off, bigPage, { 'accept-encoding': 'br, gzip' })
  t.equal(res.headers['x-ssr-cache'], 'HIT-HOT')
  t.equal(res.headers['content-encoding'], undefined)
  t.ok(res.headers.etag, 'still has an ETag')
})

test('with @fastify/compress registered globally: cached bodies are never compressed twice; uncached ones go through it', async (t) => {
  const started = await startApp(t, { bundle: counter }, undefined, async (app) => {
    // Awaited, so its onRoute hook sees every route added after it, the catch-all page route included.
    await app.register(fastifyCompress, { global: true, encodings: ['br', 'gzip', 'deflate'] })
    app.get('/big-uncached/*', (request, reply) => reply.ssr(request.url, undefined, { cache: false }))
  })
  await raw(started, bigPage) // renders and stores the page
  const cachedIdentity = (await raw(started, bigPage)).body.toString()
  t.match(cachedIdentity, /^<p>url=\/big\?size=8000 renders=1 /, 'identity is the HTML itself')
  for (const accept of ['br', 'gzip']) {
    const res = await raw(started, bigPage, { 'accept-encoding': accept })
    t.equal(res.headers['content-encoding'], accept)
    t.equal(res.headers['x-ssr-cache'], 'HIT-HOT')
    t.equal(decode(accept, res.body).toString(), cachedIdentity, `${accept}: one decode gives the HTML, so it was compressed once`)
  }
  const deflate = await raw(started, bigPage, { 'accept-encoding': 'deflate' })
  t.equal(deflate.headers['content-encoding'], 'deflate', 'an encoding we did not prepare is left to @fastify/compress')

  const uncached = await raw(started, '/big-uncached/x?size=8000', { 'accept-encoding': 'gzip' })
  t.equal(uncached.headers['x-ssr-cache'], 'BYPASS')
  t.equal(uncached.headers['content-encoding'], 'gzip', 'compressed by @fastify/compress')
  t.match(gunzipSync(uncached.body).toString(), 'url=/big-uncached/x?size=8000 ')
  const notFound = await raw(started, '/missing/page?pad=' + 'y'.repeat(2000), { 'accept-encoding': 'gzip' })
  t.equal(notFound.status, 404)
  t.match(gunzipSync(notFound.body).toString(), 'url=/missing/page')
})

test('with @fastify/compress on one route only', async (t) => {
  const started = await startApp(t, { bundle: counter }, undefined, async (app) => {
    await app.register(async (scoped) => {
      await scoped.register(fastifyCompress, { global: false })
      scoped.get('/big-scoped/*', { compress: { encodings: ['gzip'] } }, (request, reply) => reply.ssr(request.url, undefined, { cache: false }))
    })
  })
  const res = await raw(started, '/big-scoped/x?size=8000', { 'accept-encoding': 'gzip' })
  t.equal(res.headers['content-encoding'], 'gzip')
  t.match(gunzipSync(res.body).toString(), 'url=/big-scoped/x?size=8000 ')
  await raw(started, bigPage)
  const cached = await raw(started, bigPage, { 'accept-encoding': 'br' })
  t.equal(cached.headers['content-encoding'], 'br', 'other routes keep the plugin\'s own variants')
  t.match(brotliDecompressSync(cached.body).toString(), 'url=/big?size=8000 ')
})
