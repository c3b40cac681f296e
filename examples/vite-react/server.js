'use strict'
// The Vite example's server: fastify-ssr-engine renders pages with the server bundle Vite built (an ES module,
// dist/server/entry-server.js) and @fastify/static serves the browser bundle Vite built (dist/client/assets, hashed
// names). Build first (npm run example:vite does both), or run the development loop: npm run dev.
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const Fastify = require('fastify')
const fastifyStatic = require('@fastify/static')
const ssrPlugin = require('fastify-ssr-engine')
const { start } = require('../shared/app.js')

/**
 * The app, not yet listening; tests start it on port 0.
 * @param {object} [options]
 * @param {string} [options.dist]     the build: client/ and server/ (default examples/vite-react/dist)
 * @param {boolean} [options.logger]  Fastify's logger; on unless a test turns it off
 * @param {object} [options.ssr]      extra plugin options, e.g. `{ threads: 1 }` or `{ watch: true }`
 */
async function build ({ dist = join(__dirname, 'dist'), logger = true, ssr = {} } = {}) {
  const bundle = join(dist, 'server', 'entry-server.js')
  if (!existsSync(bundle)) throw new Error(`${bundle} does not exist: run "node examples/vite-react/build.mjs" first`)

  const app = Fastify({ logger })
  await app.register(ssrPlugin, { bundle, ...ssr })
  // A hashed name never changes content, so browsers may keep these files for a year.
  await app.register(fastifyStatic, { root: join(dist, 'client', 'assets'), prefix: '/assets/', immutable: true, maxAge: '1y' })
  // Every other GET is a page; React Router tells a known one from the 404 page, whose status is 404.
  app.get('/*', (request, reply) => reply.ssr(request.url, { name: 'Vite' }))
  return app
}

if (require.main === module) {
  start(build).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

module.exports = { build }
