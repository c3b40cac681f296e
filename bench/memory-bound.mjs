// node bench/memory-bound.mjs [pages=500] [pageBytes=2000000]: the page cache's byte bounds, shown on RSS.
//
// What runs: one process, Fastify with the plugin at its default cache bounds (hotMaxBytes 32 MiB, coldMaxBytes
// 64 MiB) and one worker thread, rendering `pages` distinct pages of `pageBytes` each through app.ssr.render (every
// one a miss, stored). Each page is mostly filler plus 64 KiB that does not compress, so the hot tier fills by bytes
// long before its 128 entries, and the cold tier (br and gzip only) fills too. Baseline: RSS after start-up and ten
// warm-up renders of the same size, after a GC. RSS is sampled after every render; the figure is the peak over the
// run, minus the baseline. Without the byte bounds (CACHE_UNBOUNDED=1 sets both to 1 TiB) the same run shows what
// the entry counts alone would let the cache hold. Prints one JSON line; test/memory-bound.test.ts asserts on it.
'use strict'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const root = join(fileURLToPath(import.meta.url), '..', '..')
const Fastify = require('fastify')
const ssrPlugin = require(root)

const pages = Number(process.argv[2] ?? 500)
const pageBytes = Number(process.argv[3] ?? 2_000_000)
const unbounded = process.env.CACHE_UNBOUNDED === '1'
const tib = 2 ** 40
const cache = unbounded ? { hotMaxBytes: tib, coldMaxBytes: tib } : {}

const app = Fastify({ logger: false })
await app.register(ssrPlugin, { bundle: join(root, 'test', 'fixtures', 'bundles', 'big-pages.js'), threads: 1, cache })
for (let i = 0; i < 10; i++) await app.ssr.render(`/warm/${i}?size=${pageBytes}`, undefined, { cache: false })
globalThis.gc?.()
const baseline = process.memoryUsage().rss
let peak = baseline
const started = Date.now()
for (let i = 0; i < pages; i++) {
  await app.ssr.render(`/page/${i}?size=${pageBytes}`)
  peak = Math.max(peak, process.memoryUsage().rss)
}
const metrics = app.ssr.metrics().cache
const mib = (bytes) => Math.round(bytes / 2 ** 20 * 10) / 10
console.log(JSON.stringify({
  pages,
  pageBytes,
  unbounded,
  seconds: (Date.now() - started) / 1000,
  baselineMiB: mib(baseline),
  peakMiB: mib(peak),
  growthMiB: mib(peak - baseline),
  boundMiB: mib(metrics.hotMaxBytes + metrics.coldMaxBytes),
  heldMiB: { hot: mib(metrics.bytes.hot), cold: mib(metrics.bytes.cold) },
  entries: metrics.entries,
  evictions: metrics.evictions
}))
await app.close()
