import { test } from 'tap'
import { bundle, startApp } from './helpers/app'

test('a Rusty-SSR script bundle (globalThis.renderPage returning HTML) runs unchanged with browserGlobals', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('rusty.js'), browserGlobals: true }, { name: 'Ada' })
  const res = await get('/about')
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
  const html = await res.text()
  t.match(html, '<h1>Hello Ada</h1>')
  t.match(html, '<p id="path">/about</p>', 'location reflects the rendered URL')
})

test('a CommonJS bundle exporting render returns status and headers', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('commonjs.js') }, { id: 7 })
  const ok = await get('/item')
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('x-bundle'), 'commonjs')
  t.equal(ok.headers.get('cache-control'), 'public, max-age=60')
  t.equal(await ok.text(), '<main>cjs /item 7</main>')
  const gone = await get('/gone')
  t.equal(gone.status, 410)
  t.equal(await gone.text(), '<main>cjs /gone 7</main>')
})

test('a CommonJS bundle with only a default export', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('commonjs-default.js') })
  t.equal(await (await get('/d')).text(), '<main>default export /d</main>')
})

test('reply.ssr() defaults to the request URL, and works from async handlers', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('rusty.js'), browserGlobals: true }, undefined, (app) => {
    app.get('/async/*', async (request, reply) => {
      await new Promise((resolve) => setImmediate(resolve))
      return reply.ssr()
    })
  })
  const html = await (await get('/async/page')).text()
  t.match(html, '<h1>Hello world</h1>')
  t.match(html, '<p id="path">/async/page</p>')
})

test('app.ssr.render() renders from code', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('commonjs.js') })
  const page = await app.ssr.render('/gone', { id: 1 })
  t.equal(page.status, 410)
  t.equal(page.html, '<main>cjs /gone 1</main>')
  t.equal(page.headers['x-bundle'], 'commonjs')
  t.match(app.ssr.version, /^[0-9a-f]{16}$/)
})

test('several worker threads render concurrently with the same bundle', async (t) => {
  const { get } = await startApp(t, { bundle: bundle('rusty.js'), browserGlobals: true, threads: 2, cache: false }, { name: 'pool' })
  const pages = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (await get(`/p/${i}`)).text()))
  pages.forEach((html, i) => t.match(html, `<p id="path">/p/${i}</p>`))
})
