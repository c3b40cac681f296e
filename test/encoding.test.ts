import { test } from 'tap'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { chooseEncoding, matchesIfNoneMatch } from '../dist/http/send.js'
import { encodeBodies, ownedBuffer } from '../dist/render/encode.js'

const settings = { brotliQuality: 5, gzipLevel: 6, threshold: 1024 }
const page = '<!doctype html><main>' + Array.from({ length: 200 }, (_, i) => `<p>item ${i} — ünïcödé</p>`).join('') + '</main>'

test('bodies round-trip: br and gzip decode to the identity bytes', async (t) => {
  const bodies = encodeBodies(page, settings)
  t.equal(bodies.identity.toString('utf8'), page)
  t.ok(bodies.br !== null && bodies.gzip !== null)
  t.same(brotliDecompressSync(bodies.br as Buffer), bodies.identity)
  t.same(gunzipSync(bodies.gzip as Buffer), bodies.identity)
  t.ok((bodies.br as Buffer).length < bodies.identity.length / 4, 'HTML compresses well')
})

test('every body owns its memory, so it can be transferred between threads', async (t) => {
  const bodies = encodeBodies(page, settings)
  for (const body of [bodies.identity, bodies.br, bodies.gzip] as Buffer[]) {
    t.equal(body.byteOffset, 0)
    t.equal(body.buffer.byteLength, body.byteLength)
  }
  const pooled = Buffer.from('tiny')
  t.ok(pooled.buffer.byteLength > pooled.byteLength, 'small Buffers share a pool')
  const owned = ownedBuffer(pooled)
  t.equal(owned.buffer.byteLength, 4)
  t.equal(owned.toString(), 'tiny')
})

test('small pages and disabled compression keep identity only; the ETag is strong and content-derived', async (t) => {
  const small = encodeBodies('<p>hi</p>', settings)
  t.equal(small.br, null)
  t.equal(small.gzip, null)
  t.equal(encodeBodies(page, null).br, null)
  t.match(small.etag, /^"[A-Za-z0-9_-]{27}"$/)
  t.equal(encodeBodies(page, settings).etag, encodeBodies(page, null).etag, 'the same page, the same tag')
  t.not(encodeBodies(page + ' ', settings).etag, encodeBodies(page, settings).etag)
})

test('Accept-Encoding negotiation', async (t) => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['deflate', 'identity'],
    ['zstd, compress', 'identity'],
    ['*', 'br'],
    ['*;q=0.1, gzip', 'gzip'],
    ['identity', 'identity'],
    ['identity;q=0, gzip;q=0.1', 'gzip'],
    ['identity;q=0', 'identity'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['gzip;q=1.0, br;q=1.0', 'br']
  ]
  for (const [header, expected] of cases) t.equal(chooseEncoding(header, true, true), expected, String(header))
  t.equal(chooseEncoding('br', false, true), 'identity', 'a missing variant is never chosen')
  t.equal(chooseEncoding('br, gzip', false, true), 'gzip')
  t.equal(chooseEncoding('br, gzip', false, false), 'identity')
})

test('If-None-Match: weak comparison, lists, *, and any encoding of the same page', async (t) => {
  const etag = '"abc"'
  t.ok(matchesIfNoneMatch('"abc"', etag))
  t.ok(matchesIfNoneMatch('W/"abc"', etag))
  t.ok(matchesIfNoneMatch('"x", "abc-br"', etag))
  t.ok(matchesIfNoneMatch('"abc-gzip"', etag))
  t.ok(matchesIfNoneMatch('*', etag))
  t.notOk(matchesIfNoneMatch(undefined, etag))
  t.notOk(matchesIfNoneMatch('"abcd"', etag))
  t.notOk(matchesIfNoneMatch('abc', etag), 'unquoted tags are malformed')
  t.notOk(matchesIfNoneMatch('"abc-deflate"', etag))
})
