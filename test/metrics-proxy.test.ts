import { test } from 'tap'
import { bundle, startApp } from './helpers/app'
import { nginxSkip, startNginx } from './helpers/nginx'

const skip = nginxSkip()
const mixed = bundle('mixed.js')

// nginx's default proxy_pass adds no forwarding header: to the application, its requests look like direct loopback
// requests. These tests go through a real one.

test('through a same-host nginx, the metrics are not readable with the listener of their own', { skip }, async (t) => {
  const { app, base } = await startApp(t, { bundle: mixed, metrics: { port: 0 } })
  const proxy = await startNginx(t, base)
  const page = await fetch(`${proxy}/x`)
  t.equal(page.status, 200, 'nginx proxies the application')
  t.equal(page.headers.get('x-ssr-cache'), 'MISS')
  for (const path of ['/_ssr/metrics', '/_ssr/metrics?format=prometheus']) {
    const res = await fetch(proxy + path, { headers: { accept: 'text/plain' } })
    const body = await res.text()
    t.notMatch(body, /ssr_|"renders"|mixed\.js/, `${path}: no metric and no bundle path through the proxy`)
    t.equal(res.headers.get('x-ssr-cache'), 'MISS', 'the application\'s own page route answered')
  }
  const direct = await fetch(app.ssr.metricsUrl ?? '')
  t.equal(direct.status, 200, 'the listener on loopback answers a direct request')
  t.match((await direct.json()).bundle.path, 'mixed.js')
})

test('through a same-host nginx, the default configuration exposes no metrics', { skip }, async (t) => {
  const { base } = await startApp(t, { bundle: mixed })
  const proxy = await startNginx(t, base)
  const res = await fetch(`${proxy}/_ssr/metrics`, { headers: { accept: 'text/plain' } })
  t.notMatch(await res.text(), /ssr_|"renders"|mixed\.js/)
  t.equal(res.headers.get('x-ssr-cache'), 'MISS', 'the application\'s own page route answered')
})

test('through a same-host nginx, the route behind auth answers 401 without the credentials and 200 with them', { skip }, async (t) => {
  const token = 'Bearer s3cret'
  const { base } = await startApp(t, { bundle: mixed, metrics: { auth: (request) => request.headers.authorization === token } })
  const proxy = await startNginx(t, base)
  const refused = await fetch(`${proxy}/_ssr/metrics`)
  t.equal(refused.status, 401)
  t.same(await refused.json(), { statusCode: 401, code: 'FST_SSR_UNAUTHORIZED', error: 'Unauthorized', message: 'Unauthorized' })
  const allowed = await fetch(`${proxy}/_ssr/metrics`, { headers: { authorization: token } })
  t.equal(allowed.status, 200)
  t.match((await allowed.json()).bundle.path, 'mixed.js')
})
