import { test } from 'tap'
import { get } from 'node:http'
import { normalizeUrl } from '../../dist/cache/key.js'
import { bundle, startApp } from '../helpers/app'

// Issue 14, defect 2: paths starting with `//` or `/\` answered 500 (ERR_INVALID_URL), `//x/y` was rendered and keyed
// as `/y`, and `/..//a%3C` cost a render and a 500. The target is now parsed as a path, never against a base.

test('request targets are parsed as paths: // and /\\ stay paths, dot segments go, bad escapes are refused', async (t) => {
  t.equal(normalizeUrl('//x/y', null), '//x/y', 'never read as a host')
  t.equal(normalizeUrl('/\\x/y', null), '/%5Cx/y', 'a backslash is a character of the path')
  t.equal(normalizeUrl('/..//a%3C', null), '//a%3C')
  t.equal(normalizeUrl('/a/%2e%2e/b', null), '/b', 'escaped dots are dots')
  t.equal(normalizeUrl('/products/oak-desk-lamp', null), '/products/oak-desk-lamp')
  t.equal(normalizeUrl('/.well-known/x', null), '/.well-known/x')
  t.equal(normalizeUrl('/a b"<>', null), '/a%20b%22%3C%3E')
  for (const bad of ['/%zz', '/a%', '/a%4', 'relative', '*', '/a\u0000b', '/\ud800']) {
    t.throws(() => normalizeUrl(bad, null), { code: 'FST_SSR_BAD_URL', statusCode: 400 }, JSON.stringify(bad))
  }
})

test('over HTTP: such targets render the path the router matched, or get a 400, and never a 500', async (t) => {
  const started = await startApp(t, { bundle: bundle('probe.js'), browserGlobals: true }, undefined, (app) => {
    app.get('/hand-over', (request, reply) => reply.ssr((request.query as { target: string }).target))
  })
  // node:http sends the target byte for byte; a WHATWG URL would turn the backslash into a slash first.
  const send = async (path: string) => await new Promise<{ status: number, body: string, headers: Record<string, unknown> }>((resolve, reject) => {
    get(started.base + '/', { path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    }).on('error', reject)
  })
  const doubled = await send('//x/y')
  t.equal(doubled.status, 200)
  t.match(JSON.parse(doubled.body), { url: '//x/y', location: { pathname: '//x/y', href: 'http://localhost//x/y' } })
  t.equal((await send('/y')).headers['x-ssr-cache'], 'MISS', '/y is another page than //x/y')
  const backslash = await send('/\\x')
  t.equal(backslash.status, 200)
  t.match(JSON.parse(backslash.body), { url: '/%5Cx', location: { pathname: '/%5Cx' } })
  const dots = await send('/..//a%3C')
  t.equal(dots.status, 200)
  t.match(JSON.parse(dots.body), { url: '//a%3C', location: { pathname: '//a%3C' } })
  for (const bad of ['/%zz', '/a%']) {
    // Fastify's router refuses these first, with its own 400.
    const res = await send(bad)
    t.equal(res.status, 400, bad)
    t.match(JSON.parse(res.body), { code: 'FST_ERR_BAD_URL' })
  }
  // A target the route hands over itself reaches the plugin's own parser.
  const handed = await send('/hand-over?target=%2F%25zz')
  t.equal(handed.status, 400)
  t.match(JSON.parse(handed.body), { code: 'FST_SSR_BAD_URL', statusCode: 400 })
  t.equal(started.app.ssr.metrics().renders.errors, 0, 'no render failed')
})
