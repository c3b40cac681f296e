'use strict'

// The Fastify server of every example: the plugin renders pages with the example's server bundle, and
// @fastify/static serves its browser bundle. Each examples/<framework>/server.js only says where its build is.

const { existsSync } = require('node:fs')
const { join } = require('node:path')
const Fastify = require('fastify')
const fastifyStatic = require('@fastify/static')
const ssrPlugin = require('fastify-ssr-engine')
const { listingData, notFoundData, productData } = require('./catalog.js')

/**
 * @param {object} options
 * @param {string} options.dist      the example's build: server.js and client/
 * @param {boolean} [options.logger]  Fastify's logger; on unless a test turns it off
 * @param {object} [options.ssr]      extra plugin options, e.g. `{ threads: 1 }`
 */
async function buildApp ({ dist, logger = true, ssr = {} }) {
  const bundle = join(dist, 'server.js')
  // Say what to do, rather than let the plugin report an unreadable bundle.
  if (!existsSync(bundle)) throw new Error(`${bundle} does not exist: run "npm run build:examples" first`)

  const app = Fastify({ logger })
  await app.register(ssrPlugin, { bundle, ...ssr })
  await app.register(fastifyStatic, { root: join(dist, 'client'), prefix: '/assets/' })

  // Each route's data comes from a loader, which the plugin calls only when it renders: a cache hit never pays for
  // the data (here an in-memory catalog; in an application, the database or API call).
  app.get('/', (request, reply) => reply.ssr(request.url, () => listingData()))
  app.get('/products/:id', (request, reply) => reply.ssr(request.url, (req) => productData(req.params.id)))
  // Unknown addresses get the app's own 404 page, which the plugin does not store (see cache.statusTtl to change that).
  app.setNotFoundHandler((request, reply) => reply.ssr(request.url, () => notFoundData()))
  return app
}

/** Starts an example from the command line, on HOST:PORT (default 127.0.0.1:3000). */
async function start (build) {
  const app = await build()
  // Close on Ctrl-C or a stop signal, so in-flight renders finish and the worker threads end.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close())
  await app.listen({ host: process.env.HOST || '127.0.0.1', port: Number(process.env.PORT || 3000) })
}

module.exports = { buildApp, start }
