import { test } from 'tap'
import { request } from 'undici'
import { bundle, startApp } from '../helpers/app'
import { rejection } from '../helpers/engine'

// Issue 14, defect 3: data that throws while it is keyed (a throwing getter, a Proxy whose trap throws, 20,000-deep
// nesting) gave a 500 whose body carried the thrown message, and app.ssr.render rejected with the raw error.

function deep (depth: number): unknown {
  let value: unknown = { leaf: true }
  for (let i = 0; i < depth; i++) value = { next: value }
  return value
}

const throwing = {
  getter: () => Object.defineProperty({}, 'secret', { enumerable: true, get () { throw new Error('getter threw SECRET') } }),
  proxy: () => new Proxy({}, { ownKeys () { throw new Error('trap threw SECRET') } }),
  deep: () => deep(20_000)
}

test('data that throws while it is keyed is FST_SSR_INVALID_DATA, and nothing of the message reaches the client', async (t) => {
  const started = await startApp(t, { bundle: bundle('probe.js'), browserGlobals: true }, (query: Record<string, string>) => throwing[query.kind as keyof typeof throwing]?.())
  for (const kind of Object.keys(throwing)) {
    const res = await request(`${started.base}/page?kind=${kind}`)
    const body = await res.body.text()
    t.equal(res.statusCode, 500, kind)
    t.match(JSON.parse(body), { code: 'FST_SSR_INVALID_DATA' }, kind)
    t.notMatch(body, /SECRET|threw|call stack/, `${kind}: the body says nothing of the cause`)
  }
  const error = await rejection(t, started.app.ssr.render('/page', throwing.getter()))
  t.equal(error.code, 'FST_SSR_INVALID_DATA')
  t.notMatch(error.message, /SECRET/)
  const res = await request(`${started.base}/page`)
  t.equal(res.statusCode, 200, 'the server keeps serving')
  await res.body.dump()
})
