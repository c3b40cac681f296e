import { test } from 'tap'
import { request } from 'undici'
import fastifyCompress from '@fastify/compress'
import { chooseEncoding } from '../../dist/http/send.js'
import { bundle, startApp, type Started } from '../helpers/app'

// Issue 14, defect 9: `br;q=0, *` picked br; with @fastify/compress a deflate response kept the identity body's
// strong ETag and Vary was doubled; a 304 carried the 200's representation headers.

const bigPage = '/big?size=8000'

async function raw (started: Started, path: string, headers: Record<string, string> = {}) {
  const res = await request(started.base + path, { headers })
  await res.body.dump()
  return { status: res.statusCode, headers: res.headers as Record<string, string | undefined> }
}

test('a coding refused by name with q=0 is never chosen, whatever a * in the same header says', async (t) => {
  t.equal(chooseEncoding('br;q=0, *', true, true), 'gzip')
  t.equal(chooseEncoding('br;q=0, gzip;q=0, *', true, true), 'identity')
  t.equal(chooseEncoding('gzip;q=0.000, *', true, true), 'br')
  t.equal(chooseEncoding('BR;Q=0, *', true, true), 'gzip')
  t.equal(chooseEncoding('br;q=0.5, *', true, true), 'br', 'a q above 0 is no refusal')
})

test('with @fastify/compress: an identity body it may encode gets a weak ETag, and one Vary', async (t) => {
  const started = await startApp(t, { bundle: bundle('counter.js') }, undefined, async (app) => {
    await app.register(fastifyCompress, { global: true, encodings: ['br', 'gzip', 'deflate'] })
  })
  const first = await raw(started, bigPage, { 'accept-encoding': 'br' })
  const strong = first.headers.etag as string
  t.match(strong, /^"[^"]+-br"$/)
  const deflate = await raw(started, bigPage, { 'accept-encoding': 'deflate' })
  t.equal(deflate.headers['content-encoding'], 'deflate')
  t.match(deflate.headers.etag, /^W\/"/, 'weak: @fastify/compress made another representation')
  t.equal(deflate.headers.vary, 'accept-encoding', 'one Vary')
  const identity = await raw(started, bigPage)
  t.match(identity.headers.etag, /^"/, 'a client that takes no coding gets the strong tag of the identity body')
  t.equal((await raw(started, bigPage, { 'accept-encoding': 'deflate', 'if-none-match': deflate.headers.etag as string })).status, 304)
})

test('a 304 carries only what RFC 9110 §15.4.5 lists', async (t) => {
  const started = await startApp(t, { bundle: bundle('counter.js') })
  const page = await raw(started, bigPage, { 'accept-encoding': 'br' })
  const notModified = await raw(started, bigPage, { 'accept-encoding': 'br', 'if-none-match': page.headers.etag as string })
  t.equal(notModified.status, 304)
  t.equal(notModified.headers.etag, page.headers.etag)
  t.equal(notModified.headers.vary, 'accept-encoding')
  for (const name of ['content-type', 'content-encoding', 'content-length']) {
    t.equal(notModified.headers[name], undefined, `no ${name}`)
  }
  t.equal(notModified.headers['x-ssr-cache'], 'HIT-HOT', 'where the answer came from is about the response, and stays')
})
