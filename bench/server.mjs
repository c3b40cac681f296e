// One benchmark server, in its own process: `node bench/server.mjs <kind> '<config json>'`, started by
// bench/lib/processes.mjs, never by hand. It listens on 127.0.0.1, port 0, reports the port over IPC, answers the
// parent's questions (counters, memory) and closes when told. Every kind serves the same page at the same route,
// GET /products/:id, with Fastify's logger off (logging a line per request would be measured instead of serving):
//
//   bare           a bare Fastify route sending the page as a prebuilt Buffer: the framework's ceiling (baseline)
//   bare-compress  the same with @fastify/compress registered, compressing every response (compress-on-the-fly)
//   plugin         the React example's own server (examples/react/server.js) with its default plugin options
//   plugin-nocache the same with `cache: false`: every request renders in the worker pool
//   naive          renderToString in the route handler on every request, React in the main thread (bench/naive-app.jsx)

import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { pageData, pageUrl, productData } from './lib/page.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../', import.meta.url))
const htmlType = 'text/html; charset=utf-8'

const [kind, configJson] = process.argv.slice(2)
const config = JSON.parse(configJson ?? '{}')

const servers = {
  async bare () {
    const app = Fastify({ logger: false })
    const page = readFileSync(config.referencePath)
    app.get('/products/:id', (request, reply) => reply.type(htmlType).send(page))
    return app
  },

  async 'bare-compress' () {
    const app = Fastify({ logger: false })
    // Registered as its README says (awaited, before the routes), with its defaults: brotli quality 4, gzip, deflate.
    await app.register(require('@fastify/compress'))
    const page = readFileSync(config.referencePath)
    app.get('/products/:id', (request, reply) => reply.type(htmlType).send(page))
    return app
  },

  async plugin () {
    return await exampleApp({})
  },

  async 'plugin-nocache' () {
    return await exampleApp({ cache: false })
  },

  async naive () {
    const { renderPage } = require(config.naiveBundle)
    const app = Fastify({ logger: false })
    app.get('/products/:id', async (request, reply) => {
      const { html, status } = await renderPage(request.url, productData(request.params.id))
      return reply.code(status).type(htmlType).send(html)
    })
    return app
  }
}

/** The React example's server as examples/react/server.js builds it, on this run's fresh build. */
async function exampleApp (ssr) {
  const { build } = require(join(root, 'examples', 'react', 'server.js'))
  return await build({ dist: config.reactDist, logger: false, ssr: config.threads === undefined ? ssr : { ...ssr, threads: config.threads } })
}

function peakRss () {
  try {
    const kib = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s*(\d+)\s*kB$/m)?.[1]
    return kib === undefined ? null : Number(kib) * 1024
  } catch {
    return null
  }
}

let profiler = null

function post (method, params = {}) {
  return new Promise((resolve, reject) => profiler.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))
}

async function onCommand (app, message) {
  switch (message.command) {
    case 'metrics': {
      // CPU time of the whole process (worker threads included), so the parent can compute CPU per request: unlike
      // req/s, it hardly changes when other processes take turns on the server's CPU.
      const { user, system } = process.cpuUsage()
      if (app.ssr === undefined) return { cpuUs: user + system, renders: null, cache: null, threads: 0 }
      const metrics = app.ssr.metrics()
      return { cpuUs: user + system, renders: metrics.renders.total, cache: metrics.cache, threads: metrics.pool.threads }
    }
    case 'warm': {
      // One uncached render per worker and then some, so every worker has loaded the bundle and run it before
      // memory is read ("after start" means ready to serve, not half-started).
      if (app.ssr === undefined) return null
      const threads = app.ssr.metrics().pool.threads
      await Promise.all(Array.from({ length: threads * 4 }, () => app.ssr.render(pageUrl, pageData(), { cache: false })))
      return { renders: threads * 4 }
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
    case 'profile-start': {
      // The main thread's CPU profile over the measured seconds only (not start-up, not warm-up), through the
      // inspector; --cpu-prof would cover the whole life of the process.
      profiler ??= new Session()
      profiler.connect()
      await post('Profiler.enable')
      await post('Profiler.start')
      return null
    }
    case 'profile-stop': {
      const { profile } = await post('Profiler.stop')
      profiler.disconnect()
      writeFileSync(message.path, JSON.stringify(profile))
      return { path: message.path }
    }
    default:
      throw new Error(`unknown command ${message.command}`)
  }
}

async function main () {
  const create = servers[kind]
  if (create === undefined) throw new Error(`unknown server kind "${kind}"; expected one of ${Object.keys(servers).join(', ')}`)
  const app = await create()
  await app.listen({ host: '127.0.0.1', port: 0 })
  let closing = null
  const close = () => {
    // The process then ends by itself once the workers are gone: nothing is cut short.
    closing ??= app.close().finally(() => { if (process.connected) process.disconnect() })
    return closing
  }
  process.on('message', (message) => {
    if (message.command === 'close') {
      close()
      return
    }
    onCommand(app, message).then(
      (result) => process.send({ id: message.id, result }),
      (error) => process.send({ id: message.id, error: error.message })
    )
  })
  // If the parent dies, do not linger.
  process.once('disconnect', close)
  const threads = app.ssr === undefined ? 0 : app.ssr.metrics().pool.threads
  process.send({ ready: true, kind, port: app.server.address().port, threads })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
