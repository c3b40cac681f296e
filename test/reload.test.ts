import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import { Agent, request } from 'undici'
import { startApp } from './helpers/app'
import { clock, LogWatch, rejection, startEngine } from './helpers/engine'
import { Gate } from './helpers/gate'
import { guardMainThread } from './helpers/guard'

/**
 * A bundle that renders `<main>{label} {url}</main>`; `/hold/…` renders say "started" on the `ssr-gate` channel and
 * wait for the test's release, as gate.js does.
 */
function labelled (label: string): string {
  return `
const workerGlobal = setTimeout.constructor('return globalThis')()
const channel = new workerGlobal.BroadcastChannel('ssr-gate')
channel.unref()
const held = new Map()
channel.onmessage = ({ data }) => {
  if (data && held.has(data.release)) {
    held.get(data.release)()
    held.delete(data.release)
  }
}
globalThis.renderPage = async (url) => {
  if (url.startsWith('/hold/')) {
    const released = new Promise((resolve) => held.set(url, resolve))
    channel.postMessage({ started: url })
    await released
  }
  return '<main>${label} ' + url + '</main>'
}
`
}

/** Writes labelled bundles into the test's own directory (made once: t.testdir() empties it); paths by label. */
function writeBundles (t: Test, ...labels: string[]): Record<string, string> & { dir: string } {
  const dir = t.testdir()
  const paths: Record<string, string> = {}
  for (const label of labels) {
    paths[label] = join(dir, `${label}.js`)
    writeFileSync(paths[label], labelled(label))
  }
  return { ...paths, dir }
}

const text = (page: { bodies: { identity: Buffer } }): string => page.bodies.identity.toString()
const reloaded = (line: { message: string }): boolean => line.message === 'SSR bundle reloaded'

test('reload() switches to a new bundle: renders use it, the old pages are dropped, the metrics follow', async (t) => {
  const paths = writeBundles(t, 'one', 'two')
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: paths.one }, log.onLog)
  const before = engine.version
  t.equal(text(await engine.serve('/a')), '<main>one /a</main>')
  t.equal((await engine.serve('/a')).cache, 'HIT-HOT')
  const logged = log.next(reloaded)
  const info = await engine.reload(paths.two)
  t.not(info.version, before, 'another content, another version')
  t.match(info, { path: paths.two, version: /^[0-9a-f]{16}$/ })
  t.ok(Date.parse(info.loadedAt) > 0)
  t.match(await logged, { level: 'info', object: { path: paths.two, version: info.version, previousVersion: before } })
  t.equal(engine.version, info.version)
  t.equal(engine.snapshot().cache?.entries.hot, 0, 'the old bundle\'s pages were dropped')
  const after = await engine.serve('/a')
  t.equal(after.cache, 'MISS')
  t.equal(text(after), '<main>two /a</main>')
  t.match(engine.snapshot().bundle, { path: paths.two, version: info.version, reloads: { succeeded: 1, failed: 0 } })
})

test('reload() without a path reads the same file again', async (t) => {
  const paths = writeBundles(t, 'one', 'two')
  const { engine } = await startEngine(t, { bundle: paths.one })
  const before = engine.version
  writeFileSync(paths.one, readFileSync(paths.two))
  const info = await engine.reload()
  t.equal(info.path, paths.one)
  t.not(info.version, before)
  t.equal(text(await engine.serve('/a')), '<main>two /a</main>')
  const same = await engine.reload()
  t.equal(same.version, info.version, 'unchanged content keeps its version')
  t.equal((await engine.serve('/a')).cache, 'HIT-HOT', 'and its pages, which are still the bundle\'s own')
})

test('renders started on the old bundle finish there; new requests go to the new one at once', async (t) => {
  const paths = writeBundles(t, 'one', 'two')
  const gate = new Gate()
  t.teardown(() => gate.close())
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: paths.one }, log.onLog)
  const held = engine.serve('/hold/old')
  await gate.started('/hold/old')
  const switched = log.next(reloaded)
  let resolved = false
  const reloading = engine.reload(paths.two).then((info) => { resolved = true; return info })
  await switched
  const fresh = await engine.serve('/fresh')
  t.equal(text(fresh), '<main>two /fresh</main>', 'served by the new bundle while the old one still renders')
  t.equal(resolved, false, 'reload() waits for the old bundle\'s renders')
  gate.release('/hold/old')
  t.equal(text(await held), '<main>one /hold/old</main>', 'the old render finished on the old bundle')
  await reloading
  t.equal(engine.snapshot().cache?.entries.hot, 1, 'only /fresh is stored: the old render\'s page was not')
})

const broken: Array<[string, string | null, RegExp]> = [
  ['a missing file', null, /ENOENT/],
  ['a syntax error', 'globalThis.renderPage = (url) => {', /SyntaxError|Unexpected/],
  ['a throw while loading', 'throw new Error("exploded at load")', /exploded at load/],
  ['no render function', 'globalThis.somethingElse = 1', /no render function found/]
]

for (const [name, source, cause] of broken) {
  test(`a reload to a bundle with ${name} rejects with FST_SSR_BUNDLE_LOAD and the old bundle keeps serving`, async (t) => {
    guardMainThread(t)
    const paths = writeBundles(t, 'one')
    const next = join(paths.dir, 'next.js')
    if (source !== null) writeFileSync(next, source)
    const { engine } = await startEngine(t, { bundle: paths.one })
    const before = engine.version
    await engine.serve('/a')
    const error = await rejection(t, engine.reload(next))
    t.equal(error.code, 'FST_SSR_BUNDLE_LOAD')
    t.match(error.message, `Cannot load server bundle ${next}`)
    t.match(error.message, cause)
    t.equal(engine.version, before)
    t.equal((await engine.serve('/a')).cache, 'HIT-HOT', 'its pages are kept')
    t.equal(text(await engine.serve('/b')), '<main>one /b</main>')
    t.match(engine.snapshot().bundle, { path: paths.one, reloads: { succeeded: 0, failed: 1 } })
  })
}

test('reloads run one at a time, in the order asked', async (t) => {
  const paths = writeBundles(t, 'one', 'two', 'three')
  const { engine } = await startEngine(t, { bundle: paths.one })
  const [second, third] = await Promise.all([engine.reload(paths.two), engine.reload(paths.three)])
  t.equal(second.path, paths.two)
  t.equal(third.path, paths.three)
  t.equal(engine.version, third.version)
  t.equal(text(await engine.serve('/a')), '<main>three /a</main>')
  t.equal(engine.snapshot().bundle.reloads.succeeded, 2)
})

test('the old bundle\'s stale pages are not served after a switch', async (t) => {
  const paths = writeBundles(t, 'one', 'two')
  const time = clock()
  const { engine } = await startEngine(t, { bundle: paths.one, cache: { ttl: 10, staleWhileRevalidate: 60, staleIfError: 600 } }, undefined, time.now)
  await engine.serve('/a')
  time.advance(11)
  await engine.reload(paths.two)
  const page = await engine.serve('/a')
  t.equal(page.cache, 'MISS')
  t.equal(text(page), '<main>two /a</main>')
})

test('reload() refuses once the server closes; a bundle still loading when close begins is never switched to', async (t) => {
  const paths = writeBundles(t, 'one')
  // This bundle announces that it is loading, then blocks its worker until the test lifts the latch.
  const slow = join(paths.dir, 'slow.js')
  writeFileSync(slow, `
    const workerGlobal = setTimeout.constructor('return globalThis')()
    new workerGlobal.BroadcastChannel('ssr-gate').postMessage({ started: 'load:slow' })
    Atomics.wait(new Int32Array(latch), 0, 0)
    globalThis.renderPage = (url) => '<main>slow</main>'`)
  const latch = new Int32Array(new SharedArrayBuffer(4))
  const gate = new Gate()
  t.teardown(() => gate.close())
  const { engine } = await startEngine(t, { bundle: paths.one, globals: { latch: latch.buffer } })
  const reloading = rejection(t, engine.reload(slow))
  await gate.started('load:slow')
  const closed = engine.close()
  Atomics.store(latch, 0, 1)
  Atomics.notify(latch, 0)
  t.equal((await reloading).code, 'FST_SSR_CLOSING', 'it loaded after close began')
  await closed
  t.equal(engine.snapshot().bundle.path, paths.one)
  t.equal((await rejection(t, engine.reload(slow))).code, 'FST_SSR_CLOSING', 'and no reload starts after')
})

test('under continuous load, two reloads cost no request: every response is a 200', async (t) => {
  guardMainThread(t)
  const paths = writeBundles(t, 'one', 'two', 'three')
  const { app, base } = await startApp(t, { bundle: paths.one, threads: 2, cache: { hotEntries: 8, coldEntries: 8 } })
  const agent = new Agent({ connections: 16 })
  t.teardown(() => agent.close())
  const statuses = new Map<number, number>()
  const seen = new Set<string>()
  const firstSeen = new Map<string, () => void>()
  const load = { running: true }
  // Sixteen clients loop over 40 pages (more than the cache holds, so renders never stop) until told to stop.
  const clients = Array.from({ length: 16 }, async (_, client) => {
    for (let i = client; load.running; i++) {
      const res = await request(`${base}/page/${i % 40}`, { dispatcher: agent })
      const body = await res.body.text()
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      const label = /<main>(\w+) /.exec(body)?.[1] ?? body
      seen.add(label)
      firstSeen.get(label)?.()
    }
  })
  // Resolves once a response from the bundle has arrived: the reloads happen under load, not before it.
  const served = async (label: string): Promise<void> => {
    if (!seen.has(label)) await new Promise<void>((resolve) => firstSeen.set(label, resolve))
  }
  await served('one')
  await app.ssr.reload(paths.two)
  await served('two')
  await app.ssr.reload(paths.three)
  await served('three')
  load.running = false
  await Promise.all(clients)
  t.same([...statuses.keys()], [200], `only 200s: ${JSON.stringify([...statuses])}`)
  t.same([...seen].sort(), ['one', 'three', 'two'], 'and nothing but the three bundles\' pages')
  t.equal(app.ssr.metrics().bundle.reloads.succeeded, 2)
})

test('watch: true reloads when the file changes, logs it, and keeps the old bundle when the new one is broken', async (t) => {
  guardMainThread(t)
  const paths = writeBundles(t, 'one', 'two', 'three')
  const path = paths.one
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: path, watch: true }, log.onLog)
  t.equal(text(await engine.serve('/a')), '<main>one /a</main>')

  let next = log.next((line) => line.message.startsWith('SSR bundle reload'))
  writeFileSync(path, readFileSync(paths.two))
  t.match(await next, { level: 'info', message: 'SSR bundle reloaded', object: { path } })
  t.equal(text(await engine.serve('/a')), '<main>two /a</main>')

  next = log.next((line) => line.message.startsWith('SSR bundle reload'))
  writeFileSync(path, 'globalThis.renderPage = (url) => {')
  t.match(await next, { level: 'error', message: 'SSR bundle reload failed; the previous bundle keeps serving', object: { err: { code: 'FST_SSR_BUNDLE_LOAD' } } })
  t.equal(text(await engine.serve('/b')), '<main>two /b</main>', 'the old bundle still serves')

  // Bundlers often write elsewhere and rename over the file: the directory is watched, so that is seen too.
  next = log.next((line) => line.message.startsWith('SSR bundle reload'))
  const temporary = join(paths.dir, 'three.tmp')
  writeFileSync(temporary, readFileSync(paths.three))
  renameSync(temporary, path)
  t.match(await next, { message: 'SSR bundle reloaded' })
  t.equal(text(await engine.serve('/c')), '<main>three /c</main>')
  t.match(engine.snapshot().bundle.reloads, { succeeded: 2, failed: 1 })
})

test('watch follows the bundle to the path reload() moved it to', async (t) => {
  const paths = writeBundles(t, 'one', 'two', 'three')
  const log = new LogWatch()
  const { engine } = await startEngine(t, { bundle: paths.one, watch: true }, log.onLog)
  await engine.reload(paths.two)
  const next = log.next(reloaded)
  writeFileSync(paths.two, readFileSync(paths.three))
  t.match(await next, { object: { path: paths.two } })
  t.equal(text(await engine.serve('/a')), '<main>three /a</main>')
})

test('the plugin exposes reload() and the watch option', async (t) => {
  const paths = writeBundles(t, 'one', 'two')
  const { app, get } = await startApp(t, { bundle: paths.one, watch: false })
  t.equal(await (await get('/x')).text(), '<main>one /x</main>')
  const info = await app.ssr.reload(paths.two)
  t.equal(app.ssr.version, info.version)
  t.equal(await (await get('/x')).text(), '<main>two /x</main>')
})
