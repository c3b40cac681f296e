'use strict'

// The Fastify server of the Vite examples: fastify-ssr-engine renders pages with the server bundle Vite built (an ES
// module, dist/server/entry-server.js) and @fastify/static serves the browser bundle Vite built (dist/client/assets,
// hashed names). Each examples/vite-<framework>/server.js only says where its build is.

const { existsSync } = require('node:fs')
const { join } = require('node:path')
const Fastify = require('fastify')
const fastifyStatic = require('@fastify/static')
const ssrPlugin = require('fastify-ssr-engine')

/**
 * @param {object} options
 * @param {string} options.dist       the build: client/ and server/
 * @param {boolean} [options.logger]  Fastify's logger; on unless a test turns it off
 * @param {object} [options.ssr]      extra plugin options, e.g. `{ threads: 1 }` or `{ watch: true }`
 */
async function buildViteApp ({ dist, logger = true, ssr = {} }) {
  const bundle = join(dist, 'server', 'entry-server.js')
  if (!existsSync(bundle)) throw new Error(`${bundle} does not exist: build the example first (see the README, "Examples")`)

  const app = Fastify({ logger })
  await app.register(ssrPlugin, { bundle, ...ssr })
  // A hashed name never changes content, so browsers may keep these files for a year.
  await app.register(fastifyStatic, { root: join(dist, 'client', 'assets'), prefix: '/assets/', immutable: true, maxAge: '1y' })
  // Every other GET is a page; the app's router tells a known one from the 404 page, whose status is 404.
  app.get('/*', (request, reply) => reply.ssr(request.url, { name: 'Vite' }))
  return app
}

module.exports = { buildViteApp }
