// The package as an ES module project sees it (TypeScript `module: nodenext`, an .mts file).
import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import ssrPlugin, { errors, ssrPlugin as named, type SsrNamespace, type SsrOptions } from 'fastify-ssr-engine'
import * as namespace from 'fastify-ssr-engine'

test('the default import is the plugin: register() takes it with SsrOptions', async () => {
  const app = Fastify()
  expect(app.register(ssrPlugin, { bundle: './dist/server/entry-server.js' })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', browserGlobals: true, threads: 2 })).type.not.toRaiseError()
  expect(app.register(ssrPlugin, { bundle: 'x.js', browserGlobals: 'yes' })).type.toRaiseError()
  expect(app.register(ssrPlugin, {})).type.toRaiseError()
  expect(named).type.toBe(ssrPlugin)
  expect(namespace.default).type.toBe(ssrPlugin)
  expect<SsrOptions['bundle']>().type.toBe<string>()
})

test('the decorators reach ES module code too', () => {
  const app = Fastify()
  expect(app.ssr).type.toBe<SsrNamespace>()
  app.get('/', async (request, reply) => await reply.ssr(request.url, { user: 'x' }))
  expect(new errors.FST_SSR_BUNDLE_LOAD('x', 'y').code).type.toBe<'FST_SSR_BUNDLE_LOAD'>()
})
