import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(__dirname, '..')

test('require() returns the plugin, with .default, the named export and the errors', async (t) => {
  const required = require(root)
  t.equal(typeof required, 'function')
  t.equal(required.default, required)
  t.equal(required.ssrPlugin, required)
  t.equal(typeof required.errors.FST_SSR_RENDER_FAILED, 'function')
  t.equal(required[Symbol.for('fastify.display-name')], 'fastify-ssr-engine')
  t.equal(required[Symbol.for('skip-override')], true, 'decorators reach the parent scope')
})

test('ESM import gives the same plugin as default and named export', async (t) => {
  const script = `
    import ssrPlugin, { ssrPlugin as named, errors } from 'fastify-ssr-engine'
    import * as ns from 'fastify-ssr-engine'
    const req = (await import('node:module')).createRequire(import.meta.url)('fastify-ssr-engine')
    console.log(JSON.stringify({
      defaultIsFunction: typeof ssrPlugin === 'function',
      namedSame: named === ssrPlugin,
      nsDefaultSame: ns.default === ssrPlugin,
      requireSame: req === ssrPlugin,
      errors: typeof errors.FST_SSR_QUEUE_FULL
    }))`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
  t.same(JSON.parse(out), { defaultIsFunction: true, namedSame: true, nsDefaultSame: true, requireSame: true, errors: 'function' })
})

test('ES module consumers get the ES module entry, which hands out the same plugin as require()', async (t) => {
  const script = `
    import { createRequire } from 'node:module'
    const resolved = import.meta.resolve('fastify-ssr-engine')
    const { default: plugin, ssrPlugin, errors } = await import('fastify-ssr-engine')
    const required = createRequire(import.meta.url)('fastify-ssr-engine')
    console.log(JSON.stringify({ entry: resolved.split('/').pop(), same: plugin === required && ssrPlugin === required, errors: errors === required.errors }))`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
  t.same(JSON.parse(out), { entry: 'index.mjs', same: true, errors: true })
})
