import { test } from 'tap'
import { InvalidResultError, normalizeRenderResult } from '../dist/render/result.js'

function reason (value: unknown): string {
  try {
    normalizeRenderResult(value)
    return 'accepted'
  } catch (error) {
    return error instanceof InvalidResultError ? error.message : `unexpected ${String(error)}`
  }
}

test('a string is a 200 page without headers', async (t) => {
  t.same(normalizeRenderResult('<p>x</p>'), { html: '<p>x</p>', status: 200, headers: {} })
})

test('the object form keeps status and headers, names lower-cased, numbers and arrays allowed', async (t) => {
  const result = normalizeRenderResult({ html: 'x', status: 404, headers: { 'X-Trace': 7, 'Set-Cookie': ['a=1', 'b=2'], Link: '</a.css>; rel=preload' } })
  t.equal(result.status, 404)
  t.same({ ...result.headers }, { 'x-trace': '7', 'set-cookie': ['a=1', 'b=2'], link: '</a.css>; rel=preload' })
  t.same(normalizeRenderResult({ html: 'x', headers: null }).headers, {})
})

test('every unsafe result is refused with a reason', async (t) => {
  t.match(reason(undefined), /render must return a string or \{ html, status, headers \}, got undefined/)
  t.match(reason(null), /got null/)
  t.match(reason(7), /got number/)
  t.match(reason({ status: 200 }), /result.html must be a string/)
  t.match(reason({ html: 'x', status: 199 }), /result.status must be an integer from 200 to 599/)
  t.match(reason({ html: 'x', status: 600 }), /result.status/)
  t.match(reason({ html: 'x', status: NaN }), /result.status/)
  t.match(reason({ html: 'x', headers: [] }), /headers must be an object/)
  t.match(reason({ html: 'x', headers: 'x-a: 1' }), /headers must be an object/)
  t.match(reason({ html: 'x', headers: { 'x a': '1' } }), /a header name is not a valid token/)
  t.match(reason({ html: 'x', headers: { '': '1' } }), /not a valid token/)
  t.match(reason({ html: 'x', headers: { 'x-a': 'a\r\nb' } }), /header "x-a" has a forbidden character/)
  t.match(reason({ html: 'x', headers: { 'x-a': 'a\u0000b' } }), /forbidden character/)
  t.match(reason({ html: 'x', headers: { 'x-a': ['ok', 'bad\n'] } }), /forbidden character/)
  t.match(reason({ html: 'x', headers: { 'x-a': true } }), /must be a string, a number or an array of strings/)
  t.match(reason({ html: 'x', headers: { 'x-a': Infinity } }), /must be a string, a number/)
  for (const name of ['Content-Length', 'transfer-encoding', 'Connection', 'content-encoding', 'x-ssr-cache']) {
    t.match(reason({ html: 'x', headers: { [name]: '1' } }), /is set by the server, not the bundle/, name)
  }
})
