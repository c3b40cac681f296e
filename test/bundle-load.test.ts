import { test } from 'tap'
import Fastify from 'fastify'
import ssrPlugin from '../dist/index.js'
import { bundle } from './helpers/app'

const broken: Array<[string, string, RegExp]> = [
  ['a missing file', 'does-not-exist.js', /ENOENT/],
  ['a syntax error', 'syntax-error.js', /SyntaxError|Unexpected/],
  ['no render function', 'no-render.js', /no render function found: set globalThis.renderPage or export render, renderPage or default/],
  ['a throw while loading', 'load-throws.js', /bundle exploded at load/]
]

for (const [name, file, cause] of broken) {
  test(`ready() rejects with FST_SSR_BUNDLE_LOAD for ${name}, and the server never listens`, async (t) => {
    const app = Fastify()
    app.register(ssrPlugin, { bundle: bundle(file), threads: 1 })
    app.get('/', (request, reply) => reply.ssr('/'))
    const error = await app.listen({ host: '127.0.0.1', port: 0 }).then(() => null, (err: Error & { code?: string }) => err)
    t.ok(error, 'listen() rejects')
    t.equal(error?.code, 'FST_SSR_BUNDLE_LOAD')
    t.match(error?.message, `Cannot load server bundle ${bundle(file)}`, 'names the path')
    t.match(error?.message, cause, 'names the cause')
    t.equal(app.server.listening, false)
    await app.close()
  })
}

test('a custom renderFunction is found; the default name then is not required', async (t) => {
  const app = Fastify()
  await app.register(ssrPlugin, { bundle: bundle('custom-name.js'), renderFunction: 'ssrEntry', threads: 1 })
  t.teardown(() => app.close())
  t.equal((await app.ssr.render('/x')).html, '<main>custom /x</main>')
})

test('the custom renderFunction is required when given', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle('rusty.js'), renderFunction: 'ssrEntry', threads: 1 })
  await t.rejects(app.ready(), { code: 'FST_SSR_BUNDLE_LOAD', message: /globalThis.ssrEntry/ })
  await app.close()
})

test('worker start-up has its own bound, not the render deadline: a bundle slower to load than 10 renderTimeouts starts', async (t) => {
  const app = Fastify()
  // The old bound was renderTimeout × 10 = 200 ms; this bundle alone takes 400 ms to load.
  await app.register(ssrPlugin, { bundle: bundle('load-slow.js'), threads: 1, renderTimeout: 20 })
  t.teardown(() => app.close())
  t.equal((await app.ssr.render('/x', undefined, { renderTimeout: 60_000 })).html, '<main>slow to load /x</main>')
})
