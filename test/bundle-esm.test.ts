import { test } from 'tap'
import Fastify from 'fastify'
import ssrPlugin from '../dist/index.js'
import { bundle, startApp } from './helpers/app'

async function loadError (file: string): Promise<Error & { code?: string }> {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle(file), threads: 1 })
  const error = await app.ready().then(() => null, (err: Error & { code?: string }) => err)
  await app.close()
  if (error === null) throw new Error(`${file} loaded`)
  return error
}

test('an ES module exporting render loads like a CommonJS bundle', async (t) => {
  const { get, app } = await startApp(t, { bundle: bundle('esm/render.mjs') }, { id: 3 })
  const response = await get('/item')
  t.equal(response.status, 200)
  t.equal(response.headers.get('x-bundle'), 'esm')
  t.equal(await response.text(), '<main>esm /item 3</main>')
  t.equal((await get('/item')).headers.get('x-ssr-cache'), 'HIT-HOT', 'its pages are cached as any other')
  t.match(app.ssr.version, /^[0-9a-f]{16}$/)
})

test('an ES module in a .js file with only a default export', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('esm/default-export.js') })
  t.equal((await app.ssr.render('/d')).html, '<main>default /d</main>')
})

test('a multi-chunk build: static and dynamic imports of its own chunks are followed', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('esm/multi-chunk.js') })
  t.equal((await app.ssr.render('/c')).html, '<!doctype html><body><main>chunked /c</main></body>')
})

test('an ES module that imports a package it does not contain is refused, naming the import and the fix', async (t) => {
  const error = await loadError('esm/imports-package.js')
  t.equal(error.code, 'FST_SSR_BUNDLE_LOAD')
  t.match(error.message, /the bundle imports "react-dom\/server" \(test\/fixtures\/bundles\/esm\/imports-package\.js:2:1\), which it does not contain/)
  t.match(error.message, /ssr\.noExternal: true/)
})

test('an ES module that imports a Node built-in is refused with a hint on browser builds', async (t) => {
  const error = await loadError('esm/imports-builtin.js')
  t.match(error.message, /"node:stream" \(test\/fixtures\/bundles\/esm\/imports-builtin\.js:2:1\)/)
  t.match(error.message, /is a Node built-in the sandbox does not have: resolve the browser or worker builds/)
  t.notMatch(error.message, /noExternal/, 'nothing was left external but the built-in')
})

test('top-level await is refused with the place and a way out', async (t) => {
  const error = await loadError('esm/top-level-await.js')
  t.match(error.message, /Top-level await.*\(at test\/fixtures\/bundles\/esm\/top-level-await\.js:1:16\)/)
  t.match(error.message, /await inside render instead/)
})

test('a syntax error in an ES module is located by line and column', async (t) => {
  const error = await loadError('esm/syntax-error.js')
  t.match(error.message, /Unexpected "\)" \(at test\/fixtures\/bundles\/esm\/syntax-error\.js:3:44\)/)
})

test('a load error in a chunk names the chunk\'s file, line and column, and how to fix the build', async (t) => {
  const error = await loadError('esm/load-fails-in-chunk.js')
  t.match(error.message, /Buffer is not defined at test\/fixtures\/bundles\/esm\/chunks\/uses-buffer\.js:4:24\. /)
  t.match(error.message, /Buffer is Node's: a package's Node build was bundled; resolve browser or worker builds/)
})

test('a Dynamic require of a Node built-in says which and how to fix the build', async (t) => {
  const error = await loadError('esm/dynamic-require.js')
  t.match(error.message, /Dynamic require of "stream" is not supported at test\/fixtures\/bundles\/esm\/dynamic-require\.js:2:\d+\. "stream" is a Node built-in the sandbox does not have/)
})

test('a CommonJS bundle that still calls require() is told to bundle everything', async (t) => {
  const error = await loadError('requires-package.js')
  t.match(error.message, /require is not defined at test\/fixtures\/bundles\/requires-package\.js:2:\d+\. The bundle still calls require\(\): something was left external; with Vite set ssr\.noExternal: true/)
})
