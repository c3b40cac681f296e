import { test } from 'tap'
import { LRUCache } from 'lru-cache'
import { TieredCache, type CacheEntry } from '../dist/cache/tiers.js'
import { entryOverheadBytes, withBytes } from '../dist/cache/entry.js'
import { brotliCompressSync, gzipSync } from 'node:zlib'

// Identity-only entries: their size is the same in both tiers (compact forms are tested in compression.test.ts).
function entry (key: string, size = 10, expiresAt = Infinity, url = `/${key}`): CacheEntry {
  const identity = Buffer.alloc(size, 'x')
  return withBytes({ key, url, status: 200, headers: {}, bodies: { identity, br: null, gzip: null }, etag: '"t"', expiresAt })
}

function clock (start = 1_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

const mib = 1 << 20
const roomy = { hotEntries: 2, hotMaxBytes: mib, coldEntries: 3, coldMaxBytes: mib }

test('new entries go hot; the least recent hot entry moves to cold; a cold hit promotes it back', async (t) => {
  const cache = new TieredCache(roomy)
  cache.set(entry('a'))
  cache.set(entry('b'))
  t.equal(cache.get('a')?.tier, 'hot')
  cache.set(entry('c')) // b is least recent in hot now
  t.same(cache.stats().hot.entries, 2)
  t.same(cache.stats().cold.entries, 1)
  t.equal(cache.get('b')?.tier, 'cold', 'b was demoted')
  t.equal(cache.get('b')?.tier, 'hot', 'and promoted by the hit')
  t.equal(cache.counters.promotions, 1)
  t.equal(cache.counters.evictions.hot, 2, 'c pushed b out, then b pushed a out')
  t.equal(cache.get('a')?.tier, 'cold')
})

test('the cold tier evicts its least recent entry by count', async (t) => {
  const cache = new TieredCache({ hotEntries: 1, hotMaxBytes: mib, coldEntries: 2, coldMaxBytes: mib })
  for (const key of ['a', 'b', 'c', 'd']) cache.set(entry(key))
  // hot: d; cold (most recent first): c, b; a fell out.
  t.equal(cache.get('a'), undefined)
  t.equal(cache.get('b')?.tier, 'cold')
  t.equal(cache.counters.evictions.cold, 1)
})

test('the cold tier stays within its byte bound under pages of mixed sizes', async (t) => {
  const maxBytes = 5_000
  const cache = new TieredCache({ hotEntries: 1, hotMaxBytes: mib, coldEntries: 1000, coldMaxBytes: maxBytes })
  const sizes = [100, 2_000, 50, 1_500, 3_000, 10, 800, 4_000, 200, 1_000, 2_500, 60]
  sizes.forEach((size, i) => {
    cache.set(entry(`k${i}`, size))
    t.ok(cache.stats().cold.bytes <= maxBytes, `after ${i + 1} pages: ${cache.stats().cold.bytes} bytes`)
  })
  // The newest cold entries survive, the oldest went first.
  t.equal(cache.get('k10')?.tier, 'cold', 'the page pushed out of hot last is kept')
  t.equal(cache.get('k0'), undefined, 'the oldest page is gone')
  const total = cache.stats().cold.bytes
  let counted = 0
  for (let i = 0; i < sizes.length; i++) {
    const found = cache.get(`k${i}`)
    if (found?.tier === 'cold') counted += found.entry.bytes
  }
  t.ok(counted <= total + entry('k10', 2_500).bytes, 'byte count matches the entries held')
})

test('a page larger than the cold byte bound is not stored at all', async (t) => {
  const cache = new TieredCache({ hotEntries: 4, hotMaxBytes: mib, coldEntries: 4, coldMaxBytes: 1_000 })
  cache.set(entry('huge', 1_000))
  cache.set(entry('fits', 400))
  t.equal(cache.get('fits')?.tier, 'hot')
  t.equal(cache.get('huge'), undefined)
  t.equal(cache.stats().hot.entries, 1)
})

test('entries expire at the time fixed when rendered; promotion does not extend it', async (t) => {
  const time = clock()
  const cache = new TieredCache({ hotEntries: 1, hotMaxBytes: mib, coldEntries: 4, coldMaxBytes: mib }, time.now)
  cache.set(entry('a', 10, time.now() + 1_000))
  cache.set(entry('b', 10, time.now() + 5_000)) // a goes cold
  time.advance(500)
  t.equal(cache.get('a')?.tier, 'cold', 'fresh, promoted')
  t.equal(cache.get('a')?.entry.expiresAt, 2_000, 'expiry unchanged by the promotion')
  time.advance(500)
  t.equal(cache.get('a'), undefined, 'expired exactly at its time')
  t.equal(cache.counters.expired, 1)
  t.equal(cache.stats().hot.entries + cache.stats().cold.entries, 1, 'the expired entry was dropped')
})

test('keys that collide with Object.prototype names work', async (t) => {
  const cache = new TieredCache(roomy)
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    t.equal(cache.get(key), undefined, `${key} misses before it is set`)
    cache.set(entry(key))
    t.equal(cache.get(key)?.entry.key, key)
  }
})

test('invalidation by key and by prefix, and clear, act on both tiers', async (t) => {
  const cache = new TieredCache({ hotEntries: 2, hotMaxBytes: mib, coldEntries: 10, coldMaxBytes: mib })
  for (const url of ['/products/1', '/products/2', '/products/3', '/about', '/productsale']) cache.set(entry(url, 10, Infinity, url))
  t.equal(cache.deletePrefix('/products/'), 3)
  t.equal(cache.get('/products/1'), undefined)
  t.equal(cache.deletePrefix('/products'), 1, 'a prefix is a plain string prefix')
  t.equal(cache.delete('/about'), true)
  t.equal(cache.delete('/about'), false)
  cache.set(entry('x'))
  cache.set(entry('y'))
  cache.set(entry('z'))
  t.equal(cache.clear(), 3)
  t.same(cache.stats(), { hot: { entries: 0, bytes: 0, maxBytes: mib }, cold: { entries: 0, bytes: 0, maxBytes: mib } })
  t.equal(cache.counters.insertions, 8, 'counters survive clear')
})

test('the installed lru-cache keeps keys in a Map: prototype names are ordinary keys', async (t) => {
  // The tiers' key test above goes through TieredCache; this pins the library itself, so an upgrade that went
  // back to a plain object would fail here first.
  const lru = new LRUCache<string, number>({ max: 10 })
  for (const [i, key] of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'].entries()) {
    t.equal(lru.get(key), undefined, `${key} misses before it is set`)
    t.equal(lru.has(key), false)
    lru.set(key, i)
    t.equal(lru.get(key), i)
  }
  t.equal(lru.size, 5)
})

test('the hot tier stays within its byte bound; what it pushes out moves to cold, and what cannot fit hot is never stored', async (t) => {
  const hotMaxBytes = 4_000
  const cache = new TieredCache({ hotEntries: 100, hotMaxBytes, coldEntries: 100, coldMaxBytes: mib })
  const sizes = [100, 1_500, 50, 900, 2_000, 10, 700, 1_800, 300]
  sizes.forEach((size, i) => {
    cache.set(entry(`k${i}`, size))
    t.ok(cache.stats().hot.bytes <= hotMaxBytes, `after ${i + 1} pages: ${cache.stats().hot.bytes} hot bytes`)
  })
  t.ok(cache.counters.evictions.hot > 0, 'bytes, not the count, pushed pages out')
  t.equal(cache.stats().hot.entries + cache.stats().cold.entries, sizes.length, 'every page is still held, in one tier')
  const bytes = sizes.reduce((sum, size, i) => sum + entry(`k${i}`, size).bytes, 0)
  t.equal(cache.stats().hot.bytes + cache.stats().cold.bytes, bytes, 'every byte is counted once')
  cache.set(entry('k0', hotMaxBytes))
  t.equal(cache.get('k0'), undefined, 'a page larger than hotMaxBytes (counting its key, URL and overhead) is never stored, and its older version is dropped')
})

test('bytes are counted for every body and header, the overhead of the entry included', async (t) => {
  const identity = Buffer.alloc(1_000)
  const br = Buffer.alloc(100)
  const gzip = Buffer.alloc(120)
  const counted = withBytes({ key: 'k', url: '/u', status: 200, headers: { 'x-a': 'bb', 'set-x': ['c', 'dd'] }, bodies: { identity, br, gzip }, etag: '"e"', expiresAt: Infinity })
  t.equal(counted.bytes, entryOverheadBytes + 1 + 2 + 3 + 1_000 + 100 + 120 + 3 + 2 + 5 + 3)
})

test('a cold hit rebuilds the HTML in a Buffer of its own, so the bytes counted are the bytes held', async (t) => {
  const html = Buffer.from('<p>' + 'x'.repeat(3_000) + '</p>')
  const page = withBytes({ key: 'p', url: '/p', status: 200, headers: {}, bodies: { identity: html, br: brotliCompressSync(html), gzip: gzipSync(html) }, etag: '"p"', expiresAt: Infinity })
  const cache = new TieredCache({ hotEntries: 1, hotMaxBytes: page.bytes, coldEntries: 4, coldMaxBytes: mib })
  cache.set(page)
  cache.set(entry('other', 10))
  t.equal(cache.stats().cold.entries, 1, 'the page went cold, compact')
  const found = cache.get('p')
  t.equal(found?.tier, 'cold')
  t.equal(found?.entry.bodies.identity?.toString(), html.toString(), 'the HTML is rebuilt')
  t.equal(found?.entry.bodies.identity?.buffer.byteLength, html.byteLength, 'in a Buffer of its own (zlib hands out views of 16 KiB chunks)')
  t.equal(cache.get('p')?.tier, 'hot', 'and promoted')
  t.equal(cache.stats().hot.bytes, page.bytes)
})

test('with stale windows a page outlives its TTL: found as stale, then in reserve, then dropped; only fresh ones are hits', async (t) => {
  const time = clock()
  const cache = new TieredCache({ ...roomy, staleWhileRevalidate: 10, staleIfError: 60 }, time.now)
  cache.set(entry('a', 10, time.now() + 1_000))
  t.equal(cache.get('a')?.freshness, 'fresh')
  time.advance(1_000)
  t.equal(cache.get('a')?.freshness, 'stale')
  time.advance(10_000)
  t.equal(cache.get('a')?.freshness, 'reserve')
  time.advance(50_000)
  t.equal(cache.get('a'), undefined, 'gone when both windows have passed')
  t.match(cache.counters, { lookups: 4, hits: { hot: 1 }, misses: 3, expired: 1 })
  t.equal(cache.stats().hot.entries, 0)
})

test('a stale page pushed out of hot moves to cold and is promoted back when found; an expired one is not kept', async (t) => {
  const time = clock()
  const cache = new TieredCache({ hotEntries: 1, hotMaxBytes: mib, coldEntries: 4, coldMaxBytes: mib, staleWhileRevalidate: 10 }, time.now)
  cache.set(entry('a', 10, time.now() + 1_000))
  cache.set(entry('b', 10, time.now() + 1_000))
  time.advance(2_000)
  cache.set(entry('c', 10, Infinity)) // b, stale, goes cold
  t.same(cache.stats().cold.entries, 2)
  const found = cache.get('b')
  t.match(found, { tier: 'cold', freshness: 'stale' })
  t.equal(cache.counters.promotions, 1)
  t.equal(cache.get('b')?.tier, 'hot')
  time.advance(10_000)
  cache.set(entry('d', 10, Infinity)) // b, past its window now, is pushed out of hot and not kept
  t.equal(cache.get('b'), undefined)
})

test('deleteWhere removes the pages a predicate selects from both tiers', async (t) => {
  const cache = new TieredCache({ hotEntries: 2, hotMaxBytes: mib, coldEntries: 10, coldMaxBytes: mib })
  for (const key of ['v1-a', 'v1-b', 'v2-a', 'v1-c']) cache.set(entry(key))
  t.equal(cache.deleteWhere((page) => page.key.startsWith('v1-')), 3)
  t.equal(cache.get('v2-a')?.entry.key, 'v2-a')
})
