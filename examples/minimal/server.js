'use strict'
// The minimal demo: one catch-all route rendering through the plugin. `npm start` runs it.
const { join } = require('node:path')
const Fastify = require('fastify')
const ssrPlugin = require('fastify-ssr-engine')

const products = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: `Product ${i + 1}`, price: `$${(i + 1) * 10}` }))

async function build (options = {}) {
  const app = Fastify({ logger: options.logger ?? true })
  await app.register(ssrPlugin, { bundle: join(__dirname, 'bundle.js'), threads: 2 })
  app.get('/*', (request, reply) => reply.ssr(request.url, { products, renderedAt: new Date().toISOString().slice(0, 10) }))
  return app
}

if (require.main === module) {
  build().then((app) => app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3000) }))
    .catch((error) => { console.error(error); process.exit(1) })
}

module.exports = { build }
