import { brotliCompressSync, gzipSync } from 'node:zlib'
import { test } from 'tap'
import { decodePage, encodePage } from '../dist/cache/shared/codec.js'
import { FailureLog, SharedTierError } from '../dist/cache/shared/failures.js'
import { keyHash, pageRef } from '../dist/cache/shared/names.js'
import { customKey, pageKey, versionlessKey, withVersion } from '../dist/cache/key.js'

const html = Buffer.from(`<main>${'<p>hello</p>'.repeat(200)}</main>`)
const page = {
  key: pageKey('0123456789abcdef', '/a?b=1', { user: 'x' }),
  url: '/a?b=1',
  status: 200,
  headers: { 'x-custom': ['1', '2'], 'cache-control': 'max-age=60' },
  bodies: { identity: html, br: brotliCompressSync(html), gzip: gzipSync(html) },
  etag: '"abc"',
  renderedAt: 1_700_000_000_123,
  ttl: 300
}

test('a page round-trips through the Redis value, without its identity bytes when it has br', async (t) => {
  const value = encodePage(page)
  t.ok(value.byteLength < html.byteLength, `stored ${value.byteLength} bytes for a ${html.byteLength}-byte page`)
  const decoded = decodePage(value, page.key)
  t.same(decoded, { ...page, bodies: { identity: null, br: page.bodies.br, gzip: page.bodies.gzip } })
})

test('a page without compressed bodies keeps its identity bytes', async (t) => {
  const small = { ...page, bodies: { identity: Buffer.from('<p>hi</p>'), br: null, gzip: null } }
  t.same(decodePage(encodePage(small), small.key)?.bodies, small.bodies)
})

test('a value is only ever read as the page of its own full key', async (t) => {
  const value = encodePage(page)
  t.equal(decodePage(value, pageKey('0123456789abcdef', '/a?b=1', { user: 'y' })), null, 'other data')
  t.equal(decodePage(value, pageKey('fedcba9876543210', '/a?b=1', { user: 'x' })), null, 'other version')
  t.equal(decodePage(value, customKey('0123456789abcdef', '/a?b=1')), null, 'a route key')
})

test('anything malformed is a miss, never a misread', async (t) => {
  const value = encodePage(page)
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    // SSR1 is the layout before render times were kept: a rolling deploy meets it.
    ['another layout', Buffer.concat([Buffer.from('SSR1'), value.subarray(4)])],
    ['truncated body', value.subarray(0, value.byteLength - 1)],
    ['trailing bytes', Buffer.concat([value, Buffer.from('x')])],
    ['header length past the end', Buffer.concat([value.subarray(0, 4), Buffer.from([0xff, 0xff, 0xff, 0xff]), value.subarray(8)])],
    ['header not JSON', Buffer.concat([Buffer.from('SSR2'), Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')])]
  ]
  for (const [name, bytes] of cases) t.equal(decodePage(bytes, page.key), null, name)
})

test('Redis names: a hash of the key without its version, with the version beside it', async (t) => {
  const { version, rest } = versionlessKey(page.key)
  t.equal(version, '0123456789abcdef')
  t.equal(withVersion(version, rest), page.key)
  const ref = pageRef('shop:', page.key, page.url)
  t.equal(ref.page, `shop:page:0123456789abcdef:${keyHash(rest)}`)
  t.equal(ref.lock, `shop:lock:0123456789abcdef:${keyHash(rest)}`)
  t.equal(pageRef('shop:', withVersion('fedcba9876543210', rest), page.url).hash, ref.hash, 'one hash in every version')
  t.match(ref.hash, /^[A-Za-z0-9_-]{43}$/)
})

test('failures are counted one by one and logged at most once per interval, then recovery once', async (t) => {
  const lines: Array<{ object: Record<string, unknown>, message: string }> = []
  let now = 0
  let recovered = 0
  const log = new FailureLog({ warn: (object: object, message: string) => lines.push({ object: object as Record<string, unknown>, message }) }, () => recovered++, 10_000, () => now)
  for (let i = 0; i < 100; i++) log.failed(new SharedTierError(i % 2 === 0 ? 'timeout' : 'unavailable', 'lookup', 'down'))
  log.connectionError(new Error('ECONNREFUSED'))
  t.same(log.counts, { timeouts: 50, errors: 0, unavailable: 50 })
  t.equal(lines.length, 1, 'one line for 101 failures')
  t.equal(lines[0].object.kind, 'timeout')
  t.equal((lines[0].object.err as Error & { code: string }).code, 'FST_SSR_SHARED_TIER')
  now += 10_000
  log.failed(new SharedTierError('error', 'store', 'ERR'))
  t.equal(lines.length, 2)
  t.equal(lines[1].object.suppressed, 100, 'says how many were not logged')
  now += 5_000
  log.succeeded()
  log.succeeded()
  t.same(lines.slice(2).map((line) => [line.message, line.object]), [['SSR shared tier: Redis answers again', { failures: 101, downMs: 15_000 }]])
  t.equal(recovered, 1, 'recovery reported once')
  log.failed(new SharedTierError('timeout', 'lookup', 'slow'))
  t.equal(lines.length, 4, 'a new outage is news at once')
})
