import { test } from 'tap'
import { createSandbox } from '../lib/render/sandbox'
import { bundle, startApp } from './helpers/app'

// The sandbox binds JavaScript's globals for fast reads (render/intrinsics.ts). These cases check that a bundle sees
// what it would see without the bindings, including the ones that collide with them.

async function renderOf (source: string, globals: Record<string, unknown> = {}): Promise<unknown> {
  const sandbox = createSandbox({ source, filename: 'intrinsics-test.js', renderFunction: 'renderPage', globals, browserGlobals: false })
  return await sandbox.render('/', null)
}

test("the bound names are the context's own intrinsics", async (t) => {
  const result = await renderOf(`globalThis.renderPage = () => JSON.stringify({
    same: JSON === globalThis.JSON && Object === globalThis.Object && Symbol === globalThis.Symbol && Map === globalThis.Map,
    arrays: Object.getPrototypeOf([]) === Array.prototype && [] instanceof Array,
    encoded: encodeURIComponent('a b'),
    descriptor: typeof Object.getOwnPropertyDescriptor(globalThis, 'JSON').value
  })`)
  t.same(JSON.parse(result as string), { same: true, arrays: true, encoded: 'a%20b', descriptor: 'object' })
})

test('a bundle declaring a bound name at its top level loads and sees its own', async (t) => {
  const result = await renderOf(`
    var Map = 'a var'
    function Symbol () { return 'a function' }
    class Reflect { static kind () { return 'a class' } }
    globalThis.renderPage = () => [Map, Symbol(), Reflect.kind(), globalThis.Map].join(',')`)
  t.equal(result, 'a var,a function,a class,a var')
})

test('a declaration the source scan misses (destructuring) is evaluated again, without bindings', async (t) => {
  const result = await renderOf(`
    globalThis.loads = (globalThis.loads || 0) + 1
    var { a: Math } = { a: 5 }
    globalThis.renderPage = () => [Math, globalThis.loads].join(',')`)
  t.equal(result, '5,1', 'its own Math, from one evaluation in a fresh context (the failed one ran nothing)')
})

test('a global the bundle replaces while loading is the one its code reads', async (t) => {
  t.equal(await renderOf(`
    globalThis.Promise = function FakePromise () {}
    globalThis.renderPage = () => Promise.name`), 'FakePromise', 'an assignment in the source: the name is never bound')
  t.equal(await renderOf(`
    Object.defineProperty(globalThis, 'Set', { value: function MySet () {}, writable: true, configurable: true })
    globalThis.renderPage = () => Set.name + ',' + globalThis.Set.name`), 'MySet,MySet', 'any other replacement: copied into the binding after the load')
})

test('a global replaced during a render, not by assignment, is read through the old binding (documented)', async (t) => {
  t.equal(await renderOf(`globalThis.renderPage = () => {
    Object.defineProperty(globalThis, 'Boolean', { value: function Other () {}, configurable: true })
    return Boolean.name + ',' + globalThis.Boolean.name
  }`), 'Boolean,Other')
})

test("globals given by the plugin's options stay as given; eval stays a direct eval", async (t) => {
  t.equal(await renderOf('globalThis.renderPage = () => typeof Intl + \',\' + Intl', { Intl: 'mine' }), 'string,mine')
  t.equal(await renderOf("globalThis.renderPage = () => { const local = 7; return eval('local') }"), 7)
})

test('through the plugin, in a worker and with threads: 0: a bundle colliding with the bindings renders as written', async (t) => {
  for (const threads of [1, 0]) {
    const { app } = await startApp(t, { bundle: bundle('declares-globals.js'), threads, cache: false })
    const page = await app.ssr.render('/a', { n: 1 })
    t.same(JSON.parse(page.html), {
      url: '%2Fa',
      Map: 'its own Map',
      Math: 'its own Math',
      evaluations: 1,
      intrinsic: 'symbol',
      data: { n: 1 }
    }, `threads: ${threads}`)
  }
})
