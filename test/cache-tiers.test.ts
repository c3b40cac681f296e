import { test } from 'tap'
import LRUMapWithDelete from 'mnemonist/lru-map-with-delete'
import { TieredCache, type CacheEntry } from '../dist/cache/tiers.js'
import { withBytes } from '../dist/cache/entry.js'

// Identity-only entries: their size is the same in both tiers (compact forms are tested in compression.test.ts).
function entry (key: string, size = 10, expiresAt = Infinity, url = `/${key}`): CacheEntry {
  const identity = Buffer.alloc(size, 'x')
  return withBytes({ key, url, status: 200, headers: {}, bodies: { identity, br: null, gzip: null }, etag: '"t"', expiresAt })
}

function clock (start = 1_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

const roomy = { hotEntries: 2, coldEntries: 3, coldMaxBytes: 1 << 20 }

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
  const cache = new TieredCache({ hotEntries: 1, coldEntries: 2, coldMaxBytes: 1 << 20 })
  for (const key of ['a', 'b', 'c', 'd']) cache.set(entry(key))
  // hot: d; cold (most recent first): c, b; a fell out.
  t.equal(cache.get('a'), undefined)
  t.equal(cache.get('b')?.tier, 'cold')
  t.equal(cache.counters.evictions.cold, 1)
})

test('the cold tier stays within its byte bound under pages of mixed sizes', async (t) => {
  const maxBytes = 5_000
  const cache = new TieredCache({ hotEntries: 1, coldEntries: 1000, coldMaxBytes: maxBytes })
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
  const cache = new TieredCache({ hotEntries: 4, coldEntries: 4, coldMaxBytes: 100 })
  cache.set(entry('huge', 1_000))
  t.equal(cache.get('huge'), undefined)
  t.equal(cache.stats().hot.entries, 0)
})

test('entries expire at the time fixed when rendered; promotion does not extend it', async (t) => {
  const time = clock()
  const cache = new TieredCache({ hotEntries: 1, coldEntries: 4, coldMaxBytes: 1 << 20 }, time.now)
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
  const cache = new TieredCache({ hotEntries: 2, coldEntries: 10, coldMaxBytes: 1 << 20 })
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
  t.same(cache.stats(), { hot: { entries: 0, bytes: 0 }, cold: { entries: 0, bytes: 0, maxBytes: 1 << 20 } })
  t.equal(cache.counters.insertions, 8, 'counters survive clear')
})

test('the installed mnemonist still keeps its least recent key where the tiers read it', async (t) => {
  const lru = new LRUMapWithDelete<string, number>(3)
  lru.set('a', 1)
  lru.set('b', 2)
  lru.set('c', 3)
  lru.get('a')
  const internals = lru as unknown as { K: string[], tail: number }
  t.equal(internals.K[internals.tail], 'b')
  lru.delete('b')
  t.equal(internals.K[internals.tail], 'c')
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
  const cache = new TieredCache({ hotEntries: 1, coldEntries: 4, coldMaxBytes: 1 << 20, staleWhileRevalidate: 10 }, time.now)
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
  const cache = new TieredCache({ hotEntries: 2, coldEntries: 10, coldMaxBytes: 1 << 20 })
  for (const key of ['v1-a', 'v1-b', 'v2-a', 'v1-c']) cache.set(entry(key))
  t.equal(cache.deleteWhere((page) => page.key.startsWith('v1-')), 3)
  t.equal(cache.get('v2-a')?.entry.key, 'v2-a')
})
