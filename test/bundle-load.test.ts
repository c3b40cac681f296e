import { readdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
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

test('a load error names file, line and column, and for process how to define it at build time', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle('uses-process.js'), threads: 1 })
  const error = await app.ready().then(() => null, (err: Error & { code?: string }) => err)
  await app.close()
  t.equal(error?.code, 'FST_SSR_BUNDLE_LOAD')
  t.match(error?.message, /process is not defined at test\/fixtures\/bundles\/uses-process\.js:4:\d+ \(in node_modules\/react\/index\.js\)\. /,
    'the position, and the module named by the bundler\'s comment above it')
  t.match(error?.message, /define: \{ 'process\.env\.NODE_ENV': '"production"' \}/)
})

test('a syntax error in a script bundle names its line and column', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle('syntax-error.js'), threads: 1 })
  const error = await app.ready().then(() => null, (err: Error) => err)
  await app.close()
  t.match(error?.message, /at test\/fixtures\/bundles\/syntax-error\.js:\d+:\d+/)
})

test('no render function: the message says an IIFE build drops the exports', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle('iife-without-global.js'), threads: 1 })
  await t.rejects(app.ready(), { code: 'FST_SSR_BUNDLE_LOAD', message: /no render function found.*A script \(IIFE\) build drops the entry's exports \(Vite warns MISSING_NAME_OPTION_FOR_IIFE_EXPORT\)/ })
  await app.close()
})

async function buildWithEsbuild (dir: string, entry: string, options: Record<string, unknown>): Promise<string> {
  const esbuild = await import('esbuild')
  const outfile = join(dir, 'server.js')
  await esbuild.build({ stdin: { contents: entry, resolveDir: join(__dirname, '..'), loader: 'jsx' }, outfile, bundle: true, logLevel: 'silent', ...options })
  return outfile
}

test('a failing statement is traced through the bundle\'s own source map to the original module', async (t) => {
  const dir = t.testdir()
  const source = join(dir, 'needs-buffer.js')
  writeFileSync(source, '// Reaches for Node\'s Buffer as it loads.\nexport const encoded =\n  Buffer.from("x").toString("hex")\n')
  const path = await buildWithEsbuild(dir, `import { encoded } from ${JSON.stringify(source)}\nglobalThis.renderPage = () => encoded`,
    { format: 'iife', platform: 'browser', sourcemap: true })
  const app = Fastify()
  app.register(ssrPlugin, { bundle: path, threads: 1 })
  const error = await app.ready().then(() => null, (err: Error) => err)
  await app.close()
  t.match(error?.message, new RegExp(`Buffer is not defined at ${relative(process.cwd(), path)}:\\d+:\\d+ \\(${relative(process.cwd(), source)}:3:3\\)`))
})

test('a bundle with React\'s development build loads, and a warning says to define NODE_ENV', async (t) => {
  // esbuild defines NODE_ENV as "development" in an unminified browser build, which selects React's development build.
  const path = await buildWithEsbuild(t.testdir(),
    'import { renderToString } from "react-dom/server.browser"\nglobalThis.renderPage = () => renderToString(<p>dev</p>)',
    { format: 'iife', platform: 'browser', jsx: 'automatic' })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(ssrPlugin, { bundle: path, threads: 1 })
  t.teardown(() => app.close())
  t.equal((await app.ssr.render('/')).html, '<p>dev</p>', 'it renders')
  const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40)
  t.equal(warnings.length, 1)
  t.match(warnings[0].msg, /SSR bundle: the bundle contains a development build \(node_modules\/react\/cjs\/react[\w.-]*\.development\.js\): define process\.env\.NODE_ENV as "production"/)
  t.equal(warnings[0].path, path)
})

test('a production build gets no such warning', async (t) => {
  const path = await buildWithEsbuild(t.testdir(),
    'import { renderToString } from "react-dom/server.browser"\nglobalThis.renderPage = () => renderToString(<p>prod</p>)',
    { format: 'iife', platform: 'browser', jsx: 'automatic', define: { 'process.env.NODE_ENV': '"production"' } })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(ssrPlugin, { bundle: path, threads: 1 })
  t.teardown(() => app.close())
  t.equal((await app.ssr.render('/')).html, '<p>prod</p>')
  t.same(lines, [])
})

test('a bundle that touches window while loading is told about browserGlobals, and loads with it', async (t) => {
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle('touches-window.js'), threads: 1 })
  await t.rejects(app.ready(), { message: /window is not defined at test\/fixtures\/bundles\/touches-window\.js:3:\d+\. Browser globals are off by default.*browserGlobals: true/ })
  await app.close()
  const withGlobals = Fastify()
  await withGlobals.register(ssrPlugin, { bundle: bundle('touches-window.js'), threads: 1, browserGlobals: true })
  t.teardown(() => withGlobals.close())
  t.equal((await withGlobals.ssr.render('/')).html, '<p>browser-minded</p>')
})

test('worker start-up has its own bound, not the render deadline: a bundle slower to load than 10 renderTimeouts starts', async (t) => {
  const app = Fastify()
  // The old bound was renderTimeout × 10 = 200 ms; this bundle alone takes 400 ms to load.
  await app.register(ssrPlugin, { bundle: bundle('load-slow.js'), threads: 1, renderTimeout: 20 })
  t.teardown(() => app.close())
  t.equal((await app.ssr.render('/x', undefined, { renderTimeout: 60_000 })).html, '<main>slow to load /x</main>')
})

test('a bundle that never finishes loading: ready() rejects with FST_SSR_BUNDLE_LOAD at startTimeout, and its worker is stopped', async (t) => {
  const threads = (): number => readdirSync('/proc/self/task').length
  const before = threads()
  const app = Fastify()
  app.register(ssrPlugin, { bundle: bundle('load-hangs.js'), threads: 1, startTimeout: 300 })
  app.get('/', (request, reply) => reply.ssr('/'))
  const started = Date.now()
  const error = await app.ready().then(() => null, (err: Error & { code?: string }) => err)
  t.equal(error?.code, 'FST_SSR_BUNDLE_LOAD')
  t.match(error?.message, /the worker could not start \(no worker loaded the bundle within 300 ms\)/, 'says it timed out and after how long')
  t.ok(Date.now() - started >= 300, 'not before the timeout')
  // The looping worker was terminated before ready() rejected: no thread of it is left spinning.
  t.ok(threads() <= before, `no thread left behind (${before} before, ${threads()} after)`)
  await app.close()
})
