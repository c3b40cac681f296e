// What `npm run bench:http` measures: the scenarios, the pages each runs on, the comparisons between them and the
// targets of issue 13 and 15. bench/http.mjs runs them; bench/lib/http-summary.mjs judges them.

import { pageNames } from './pages.mjs'

const br = { 'accept-encoding': 'br' }

// The data scenarios run with 10 connections, not 100: saturated with 100, a hit waits ~5 ms in the server's queue and
// the 1 ms data wait vanishes in it; with 10 the wait shows in latency and req/s as a user would see it.
export const dataConnections = 10

/**
 * Scenarios only the paired benchmarks run (bench/lib/paired.mjs), beside bench:http's. `schedBatch`: the whole
 * server process under SCHED_BATCH (bench/server.mjs), an operator's choice the README recommends for one CPU.
 */
export const pairedScenarios = [
  { name: 'render-batch', server: 'plugin', ssr: { cache: false, threads: 1 }, schedBatch: true, expect: { cache: 'BYPASS' }, about: 'render with the server process under SCHED_BATCH (`chrt -b 0 node …`)' }
]

/**
 * One scenario: a server kind of bench/server.mjs with its options, the request headers, what the response must be
 * (bench/lib/check.mjs), and where it runs. `pinned: false`: the server may use every CPU (the load generator keeps
 * its own CPU, which the server then shares). `pages`: the pages it runs on (default all three). `path`: a route of
 * its own instead of the page's. `connections`: instead of BENCH_CONNECTIONS. `nodeFlags`: flags the server's node
 * runs with (an operator's choice the README recommends; the targets are judged without them).
 */
export const scenarios = [
  { name: 'baseline', server: 'bare', about: 'bare Fastify route sending the page as a prebuilt Buffer' },
  { name: 'baseline-br', server: 'bare-br', headers: br, expect: { encoding: 'br', raw: 'br' }, about: 'the same sending the prebuilt brotli body (the bytes of a br hit)' },
  { name: 'baseline-headers', server: 'bare-headers', about: 'the bare route sending a hit\'s headers too (ETag, Cache-Control, Last-Modified, Vary, Age, x-ssr-cache): the same bytes as a hit' },
  { name: 'baseline-headers-br', server: 'bare-headers-br', headers: br, expect: { encoding: 'br', raw: 'br' }, about: 'the same with the brotli body' },
  { name: 'cached', server: 'plugin', warm: true, expect: { cache: 'HIT-HOT' }, about: 'the plugin (default options), every request a hot-cache hit' },
  { name: 'cached-br', server: 'plugin', headers: br, warm: true, expect: { encoding: 'br', cache: 'HIT-HOT', raw: 'br' }, about: 'the same with Accept-Encoding: br' },
  { name: 'render', server: 'plugin', ssr: { cache: false, threads: 1 }, expect: { cache: 'BYPASS' }, about: 'the plugin with `cache: false`, 1 worker thread: every request renders' },
  { name: 'render-inline', server: 'plugin', ssr: { cache: false, threads: 0 }, expect: { cache: 'BYPASS' }, about: 'the plugin with `cache: false`, `threads: 0`: every request renders in the main thread' },
  { name: 'naive', server: 'naive', about: 'renderToString in the route handler, same renderer as the bundle' },
  { name: 'compress-on-the-fly', server: 'bare-compress', headers: br, expect: { encoding: 'br' }, about: 'the bare route with @fastify/compress (br per request)' },
  { name: 'render-2', server: 'plugin', ssr: { cache: false, threads: 2 }, pinned: false, expect: { cache: 'BYPASS' }, about: 'render with 2 worker threads, server not pinned' },
  { name: 'naive-2', server: 'naive', pinned: false, about: 'naive, server not pinned' },
  {
    name: 'render-2-pinned',
    server: 'plugin',
    ssr: { cache: false, threads: 2, pinThreads: true },
    pinned: false,
    pages: ['listing'],
    expect: { cache: 'BYPASS' },
    about: 'render-2 with `pinThreads: true` (each worker on a core of its own)'
  },
  // V8's helper threads (parallel scavenges, concurrent marking) for three heaps on two CPUs: what an operator saves
  // by running node with --single-threaded-gc, for the plugin and for the handler alike.
  {
    name: 'render-2-stgc',
    server: 'plugin',
    ssr: { cache: false, threads: 2 },
    pinned: false,
    pages: ['listing'],
    nodeFlags: ['--single-threaded-gc'],
    expect: { cache: 'BYPASS' },
    about: 'render-2 with `node --single-threaded-gc`'
  },
  { name: 'naive-2-stgc', server: 'naive', pinned: false, pages: ['listing'], nodeFlags: ['--single-threaded-gc'], about: 'naive-2 with `node --single-threaded-gc`' },
  {
    name: 'data-eager',
    server: 'plugin',
    connections: dataConnections,
    path: '/slow',
    pages: ['listing'],
    warm: true,
    expect: { cache: 'HIT-HOT' },
    about: 'hits of the listing whose route first waits 1 ms for its data, then `reply.ssr(url, data)`'
  },
  {
    name: 'data-loader',
    server: 'plugin',
    connections: dataConnections,
    path: '/slow-loader',
    pages: ['listing'],
    probeLoader: true,
    warm: true,
    expect: { cache: 'HIT-HOT' },
    about: 'the same data behind a loader, `reply.ssr(url, (request) => loadData(request))`: no wait on a hit'
  }
]

/** The scenario × page runs of one round, grouped by page (a group's runs are compared with each other). */
export function casesFor (chosen, pagesChosen) {
  return pagesChosen.map((page) => chosen
    .filter((scenario) => (scenario.pages ?? pageNames).includes(page))
    .map((scenario) => ({ id: `${scenario.name} · ${page}`, scenario, page })))
    .filter((group) => group.length > 0)
}

/**
 * Pairs compared run against run within each round: `own` against `other`, by req/s and by CPU per request.
 * `pages`: where the pair is compared (default every page where both ran).
 */
export const comparisons = [
  { own: 'cached', other: 'baseline', why: 'a hit against the bare route sending the same bytes' },
  { own: 'cached-br', other: 'baseline-br', why: 'a br hit against the bare route sending the same brotli bytes' },
  { own: 'cached', other: 'baseline-headers', why: 'a hit against the bare route sending the same bytes, headers included' },
  { own: 'cached-br', other: 'baseline-headers-br', why: 'a br hit against the same, brotli' },
  { own: 'cached-br', other: 'baseline', why: 'a br hit against the bare identity route, as issue 13 first measured it' },
  { own: 'cached-br', other: 'compress-on-the-fly', why: 'a br hit against compressing on every request' },
  { own: 'render', other: 'naive', why: 'cache off against rendering in the handler, one CPU each' },
  { own: 'render-inline', other: 'naive', why: 'cache off, threads: 0 (no worker) against rendering in the handler, one CPU each' },
  { own: 'render-inline', other: 'render', why: 'threads: 0 against one worker sharing the CPU' },
  { own: 'render-2', other: 'naive-2', why: 'cache off with 2 workers against the handler, neither pinned' },
  { own: 'render-2', other: 'render', why: 'what a second CPU and worker add' },
  { own: 'render-2-pinned', other: 'render-2', why: 'pinThreads: true against unpinned workers, same run' },
  { own: 'render-2-stgc', other: 'naive-2-stgc', why: 'cache off with 2 workers against the handler, both with --single-threaded-gc' },
  { own: 'render-2-stgc', other: 'render-2', why: 'what --single-threaded-gc saves the plugin with 2 workers' },
  { own: 'data-loader', other: 'data-eager', why: 'hits of a page whose data costs 1 ms: loader against eager data' }
]

/**
 * Issue 13's targets judged here, each on one comparison at one page. `measure`: 'rps' (own req/s ÷ other's, must
 * reach `target`) or 'cpu' (own CPU per request ÷ other's, must stay at or below `target`). Only the one that needs
 * every CPU is left here: the hit targets (CPU ≤ 1.10×, req/s ≥ 0.90× the bare route) are judged by bench/hits.mjs
 * and the cache-off targets on one CPU (≥ 0.85× naive) by bench/misses.mjs, whose alternated 1 s windows resolve
 * what runs minutes apart do not; those runs here stay in the tables and comparisons.
 */
export function targetsFor (pagesChosen) {
  const targets = []
  if (pagesChosen.includes('listing')) {
    targets.push({ own: 'render-2', other: 'naive-2', page: 'listing', measure: 'rps', target: 1.5, label: 'cache off, 2 threads, not pinned, listing: req/s ≥ 1.5× naive-2' })
  }
  return targets
}
