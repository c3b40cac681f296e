import { test } from 'tap'
import { bundle, startApp } from './helpers/app'

interface Report {
  renders: number
  previousStorage: string | null
  location: { pathname: string, search: string, href: string }
  types: Record<string, string>
  windowIsGlobal: boolean
  customGlobal: unknown
  data: Record<string, unknown> | null
  dataProtoKey: boolean
  objectPolluted: boolean
}

async function probe (t: Parameters<Parameters<typeof test>[1]>[0], options = {}) {
  const { app } = await startApp(t, { bundle: bundle('probe.js'), cache: false, browserGlobals: true, ...options })
  return async (url: string, data?: unknown): Promise<Report> => JSON.parse((await app.ssr.render(url, data)).html)
}

test('Node powers are absent; browser-ish and web globals are present', async (t) => {
  const report = await (await probe(t))('/')
  t.same(
    { process: report.types.process, require: report.types.require, Buffer: report.types.Buffer, module: report.types.module, exports: report.types.exports },
    { process: 'undefined', require: 'undefined', Buffer: 'undefined', module: 'undefined', exports: 'undefined' })
  for (const name of ['document', 'navigator']) t.equal(report.types[name], 'object', name)
  for (const name of ['TextEncoder', 'MessageChannel', 'ReadableStream', 'requestAnimationFrame', 'matchMedia', 'MutationObserver', 'Image', 'structuredClone']) {
    t.equal(report.types[name], 'function', name)
  }
  t.equal(report.types.performance, 'object')
  t.equal(report.windowIsGlobal, true, 'window and self are the global object')
})

test('location follows each render; storages start empty every render', async (t) => {
  const render = await probe(t)
  const first = await render('/shop/item?color=red#frag')
  t.same(first.location, { pathname: '/shop/item', search: '?color=red', href: 'http://localhost/shop/item?color=red' })
  t.equal(first.previousStorage, null)
  const second = await render('/other')
  t.equal(second.renders, 2, 'same worker, same context')
  t.equal(second.previousStorage, null, 'nothing stored by the previous render is visible')
  t.equal(second.location.pathname, '/other')
})

test('globals option reaches the bundle as a copy', async (t) => {
  const config = { apiBase: '/api', flags: ['a'] }
  const report = await (await probe(t, { globals: { APP_CONFIG: config } }))('/')
  t.same(report.customGlobal, config)
})

test('data arrives as a structured clone; a __proto__ key pollutes nothing', async (t) => {
  const render = await probe(t)
  const data = JSON.parse('{"title":"x","__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}')
  const report = await render('/', data)
  t.equal(report.dataProtoKey, true, 'the key stays an own property')
  t.equal(report.objectPolluted, false, 'inside the sandbox')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'in the main thread')
  t.equal(report.data?.title, 'x')
  const dated = await render('/', { when: new Date(0), tags: new Set(['a']) })
  t.same(dated.data, { when: '1970-01-01T00:00:00.000Z', tags: {} }, 'Dates and Sets survive the clone (JSON shows their shape)')
})

test('by default the sandbox has what a server has, without Node powers: libraries take their server code paths', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('server-globals.js'), cache: false })
  const types: Record<string, string> = JSON.parse((await app.ssr.render('/')).html)
  for (const name of ['window', 'self', 'document', 'navigator', 'location', 'localStorage', 'sessionStorage', 'history',
    'requestAnimationFrame', 'matchMedia', 'MutationObserver', 'Image', 'HTMLElement']) {
    t.equal(types[name], 'undefined', `no ${name} without browserGlobals`)
  }
  for (const name of ['process', 'require', 'Buffer', 'global']) t.equal(types[name], 'undefined', `no ${name}`)
  for (const name of ['setImmediate', 'setTimeout', 'queueMicrotask', 'TextEncoder', 'URL', 'ReadableStream', 'MessageChannel',
    'structuredClone', 'AbortController', 'Response', 'atob']) {
    t.equal(types[name], 'function', name)
  }
  t.equal(types.performance, 'object')
  t.equal(types.crypto, 'object')
})

test('browserGlobals: true adds the inert browser objects', async (t) => {
  const { app } = await startApp(t, { bundle: bundle('server-globals.js'), cache: false, browserGlobals: true })
  const types: Record<string, string> = JSON.parse((await app.ssr.render('/')).html)
  for (const name of ['window', 'self', 'document', 'navigator', 'location', 'localStorage', 'history']) t.equal(types[name], 'object', name)
  for (const name of ['requestAnimationFrame', 'matchMedia', 'MutationObserver', 'Image', 'HTMLElement']) t.equal(types[name], 'function', name)
  for (const name of ['process', 'require', 'Buffer']) t.equal(types[name], 'undefined', `still no ${name}`)
})
