// One benchmark server, in its own process: `node bench/server.mjs <kind> '<config json>'`, started by
// bench/lib/processes.mjs, never by hand. It listens on 127.0.0.1, port 0, reports the port over IPC, answers the
// parent's questions (CPU per thread, counters, memory) and closes when told. Every kind serves the three pages of
// bench/lib/pages.mjs at the same routes (GET /products/:id, GET /, GET /large), with Fastify's logger off (logging a
// line per request would be measured instead of serving):
//
//   bare           a bare Fastify route sending the page as a prebuilt Buffer: the framework's ceiling (baseline)
//   bare-br        the same sending the page's prebuilt brotli body, the bytes a br cache hit sends (baseline-br)
//   bare-compress  the bare route with @fastify/compress registered, compressing every response (compress-on-the-fly)
//   plugin         the React example's own server (examples/react/server.js; its routes pass loaders) plus the bench
//                  routes below (GET /large: a loader too, under a key of its own), with the plugin options of
//                  `config.ssr` (threads, cache: false, pinThreads)
//   naive          renderToString in the route handler on every request, in the main thread (bench/naive-app.jsx)
//
// The plugin kind also serves the listing behind data that costs something, as a route reading a database would:
//   GET /slow         eager data: waits `dataWaitMs` (1 ms), then `reply.ssr('/', data)`; every request waits
//   GET /slow-loader  a loader: `reply.ssr('/', (request) => wait, then data)`; the wait happens only on a render
// With `config.probeLoader`, the server first checks that the installed plugin accepts a function as data; if it does
// not, it reports the loader as unavailable instead of serving. Likewise a plugin that rejects `pinThreads` with
// FST_SSR_INVALID_OPTION is reported unavailable.
// With `config.schedBatch`, the whole process (every thread it has, and the worker threads it starts, which inherit
// the policy) runs under Linux's SCHED_BATCH, as `chrt -b 0 node …` would start it; unavailable where chrt fails.

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { pages, productData } from './lib/pages.mjs'
import { startLibuvPool, threadAffinity, ticksToUs, watchNewThreads } from './lib/threads.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../', import.meta.url))
const htmlType = 'text/html; charset=utf-8'

const [kind, configJson] = process.argv.slice(2)
const config = JSON.parse(configJson ?? '{}')

/** Each page's route sending a prebuilt body, as the bare kinds do. */
function bareRoutes (app, form) {
  for (const page of Object.values(pages)) {
    const reference = config.references[page.name]
    if (form === 'br' && reference.br === null) throw new Error(`the ${page.name} page has no brotli body (below the compression threshold)`)
    const body = readFileSync(form === 'br' ? reference.br : reference.identity)
    if (form === 'br') app.get(page.route, (request, reply) => reply.type(htmlType).header('content-encoding', 'br').header('vary', 'accept-encoding').send(body))
    else app.get(page.route, (request, reply) => reply.type(htmlType).send(body))
  }
}

/**
 * Each page's route sending a prebuilt body with the header set of a plugin hit (Cache-Control, Last-Modified, Vary,
 * ETag, Age, x-ssr-cache), set the way the plugin sets them (one object, then the two per-response headers): the
 * same bytes on the wire as a hit, so the gap to a hit is what the plugin's lookup costs, not what its headers do.
 */
function bareRoutesWithHitHeaders (app, form) {
  const renderedAt = Date.now()
  for (const page of Object.values(pages)) {
    const reference = config.references[page.name]
    const body = readFileSync(form === 'br' ? reference.br : reference.identity)
    const headers = {
      'content-type': htmlType,
      'cache-control': 'public, max-age=0, must-revalidate',
      'last-modified': new Date(renderedAt).toUTCString(),
      vary: 'accept-encoding',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}${form === 'br' ? '-br' : ''}"`
    }
    if (form === 'br') headers['content-encoding'] = 'br'
    app.get(page.route, (request, reply) => reply.headers(headers)
      .header('age', String(Math.floor((Date.now() - renderedAt) / 1000)))
      .header('x-ssr-cache', 'HIT-HOT')
      .send(body))
  }
}

// How often route data was built (eager) or loaded (loader): a loader page served from the cache builds none.
let dataCalls = 0

async function slowListingData () {
  dataCalls++
  await sleep(config.dataWaitMs ?? 1)
  return pages.listing.data()
}

/** A bare Fastify server with one kind of prebuilt-body routes, identity or br. */
function bareServer (addRoutes, form) {
  return async () => {
    const app = Fastify({ logger: false })
    addRoutes(app, form)
    return app
  }
}

const servers = {
  bare: bareServer(bareRoutes, 'identity'),
  'bare-br': bareServer(bareRoutes, 'br'),
  'bare-headers': bareServer(bareRoutesWithHitHeaders, 'identity'),
  'bare-headers-br': bareServer(bareRoutesWithHitHeaders, 'br'),

  async 'bare-compress' () {
    const app = Fastify({ logger: false })
    // Registered as its README says (awaited, before the routes), with its defaults: brotli quality 4, gzip, deflate.
    await app.register(require('@fastify/compress'))
    bareRoutes(app, 'identity')
    return app
  },

  async plugin () {
    // The React example's server as examples/react/server.js builds it, on this run's fresh build.
    const { build } = require(join(root, 'examples', 'react', 'server.js'))
    const app = await build({ dist: config.reactDist, logger: false, ssr: config.ssr ?? {} })
    // A loader like the example's own routes; its own key, since the page it renders is url '/' like the listing's.
    const large = pages.large
    app.get(large.route, (request, reply) => reply.ssr(large.renderUrl, () => large.data(), { key: 'bench:large' }))
    app.get('/slow', async (request, reply) => reply.ssr('/', await slowListingData()))
    app.get('/slow-loader', (request, reply) => reply.ssr('/', () => slowListingData()))
    return app
  },

  async naive () {
    const { renderPage } = require(config.naiveBundle)
    const app = Fastify({ logger: false })
    const send = (reply, { html, status }) => reply.code(status).type(htmlType).send(html)
    app.get(pages.product.route, async (request, reply) => send(reply, await renderPage(request.url, productData(request.params.id))))
    app.get(pages.listing.route, async (request, reply) => send(reply, await renderPage(request.url, pages.listing.data())))
    app.get(pages.large.route, async (request, reply) => send(reply, await renderPage(pages.large.renderUrl, pages.large.data())))
    return app
  }
}

/** null when the installed plugin renders with a function as data; otherwise why not. */
async function loaderUnavailable (app) {
  const before = dataCalls
  try {
    const page = await app.ssr.render('/', () => slowListingData(), { cache: false })
    if (dataCalls === before) return `app.ssr.render('/', loader) answered ${page.status} without calling the loader`
    return null
  } catch (error) {
    return `this build of the plugin does not accept a loader as data: app.ssr.render('/', loader) failed with ${error.code ?? error.name}: ${error.message}`
  }
}

function peakRss () {
  try {
    const kib = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s*(\d+)\s*kB$/m)?.[1]
    return kib === undefined ? null : Number(kib) * 1024
  } catch {
    return null
  }
}

async function onCommand (app, threads, message) {
  switch (message.command) {
    case 'metrics': {
      // CPU time of the whole process (every thread, ended ones included), so the parent can compute CPU per request:
      // unlike req/s, it hardly changes when other processes take turns on the server's CPU. Main thread and render
      // workers from /proc, in ticks.
      const { user, system } = process.cpuUsage()
      const { main, workers } = threads.sample()
      const metrics = app.ssr?.metrics()
      return { cpuUs: user + system, mainUs: ticksToUs(main), workersUs: ticksToUs(workers), renders: metrics?.renders.total ?? null, dataCalls }
    }
    case 'affinity': {
      // Which CPUs each thread may run on: with pinThreads, every render worker should have one of its own.
      return { main: threadAffinity(process.pid), workers: threads.workerIds.map(threadAffinity) }
    }
    case 'warm': {
      // Renders per worker and then some, so every worker has loaded the bundle and run it before memory is read
      // ("after start" means ready to serve, not half-started).
      if (app.ssr === undefined) return null
      const page = pages[message.page]
      const count = app.ssr.metrics().pool.threads * 4
      await Promise.all(Array.from({ length: count }, () => app.ssr.render(page.renderUrl, page.data(), { cache: false })))
      return { renders: count }
    }
    case 'memory': {
      if (message.gc === true) {
        if (typeof globalThis.gc !== 'function') throw new Error('start the server with --expose-gc to collect garbage')
        globalThis.gc()
      }
      const usage = { ...process.memoryUsage(), peakRss: peakRss() }
      if (message.resetPeak === true) {
        // Linux resets the peak RSS (VmHWM) when "5" is written to clear_refs, so the next peak is the load's own.
        try {
          writeFileSync('/proc/self/clear_refs', '5')
        } catch {}
      }
      return usage
    }
    default:
      throw new Error(`unknown command ${message.command}`)
  }
}

/** A plugin that rejects an option it does not know yet is not a failure of the benchmark: the scenario is n/a. */
function optionUnavailable (error) {
  if (error?.code !== 'FST_SSR_INVALID_OPTION' || config.ssr?.pinThreads === undefined) return null
  return /pinThreads/.test(error.message) ? `this build of the plugin rejects pinThreads: ${error.message}` : null
}

/** Puts every thread of this process under SCHED_BATCH; null when done, else why it could not. */
function batchScheduling () {
  try {
    execFileSync('chrt', ['--all-tasks', '--batch', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 5000 })
    return null
  } catch (error) {
    return `chrt --batch failed: ${error.message}`
  }
}

async function main () {
  const create = servers[kind]
  if (create === undefined) throw new Error(`unknown server kind "${kind}"; expected one of ${Object.keys(servers).join(', ')}`)
  await startLibuvPool()
  if (config.schedBatch === true) {
    const unavailable = batchScheduling()
    if (unavailable !== null) {
      process.send({ ready: true, kind, unavailable }, () => process.exit(0))
      return
    }
  }
  const threads = watchNewThreads()
  let app
  try {
    app = await create()
    await app.ready()
  } catch (error) {
    const unavailable = optionUnavailable(error)
    if (unavailable === null) throw error
    process.send({ ready: true, kind, unavailable }, () => process.exit(0))
    return
  }
  const poolThreads = app.ssr === undefined ? 0 : app.ssr.metrics().pool.threads
  // The render workers are told apart from Node's own threads by appearing while the plugin started.
  const found = threads.settle(poolThreads)
  if (config.probeLoader === true) {
    const unavailable = await loaderUnavailable(app)
    if (unavailable !== null) {
      await app.close()
      process.send({ ready: true, kind, unavailable }, () => process.exit(0))
      return
    }
  }
  await app.listen({ host: '127.0.0.1', port: 0 })
  let closing = null
  const close = () => {
    // Exits once the app has closed and its workers are gone (nothing is cut short; --cpu-prof writes its profiles):
    // React's server renderer holds a MessageChannel that would keep the naive server alive.
    closing ??= app.close().finally(() => process.exit(0))
    return closing
  }
  process.on('message', (message) => {
    if (message.command === 'close') {
      close()
      return
    }
    onCommand(app, threads, message).then(
      (result) => process.send({ id: message.id, result }),
      (error) => process.send({ id: message.id, error: error.message })
    )
  })
  // If the parent dies, do not linger.
  process.once('disconnect', close)
  process.send({ ready: true, kind, port: app.server.address().port, threads: poolThreads, workerThreadsFound: found })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
