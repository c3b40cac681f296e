import { test } from 'tap'
import { canonicalData, customKey, normalizeUrl, pageKey, UnkeyableDataError } from '../dist/cache/key.js'

test('URLs normalize to one canonical form', async (t) => {
  t.equal(normalizeUrl('/a?b=2&a=1', null), '/a?a=1&b=2', 'parameters sorted')
  t.equal(normalizeUrl('/a?x=2&b=1&x=1', null), '/a?b=1&x=2&x=1', 'values of one name keep their order')
  t.equal(normalizeUrl('/%7e%7Euser/%41', null), '/~~user/A', 'unreserved escapes decoded')
  t.equal(normalizeUrl('/caf%c3%a9', null), '/caf%C3%A9', 'other escapes upper-cased')
  t.equal(normalizeUrl('/café', null), '/caf%C3%A9', 'raw and escaped forms agree')
  t.equal(normalizeUrl('/a?q=a+b', null), normalizeUrl('/a?q=a%20b', null), 'plus and %20 mean the same space')
  t.equal(normalizeUrl('/a?q=%2F', null), '/a?q=%2F')
  t.equal(normalizeUrl('/a#top', null), '/a', 'fragment dropped')
  t.equal(normalizeUrl('/a/../b/./c', null), '/b/c', 'dot segments resolved')
  t.equal(normalizeUrl('/a?', null), '/a')
  t.equal(normalizeUrl('/a?flag', null), '/a?flag=')
  t.equal(normalizeUrl('http://evil.example/steal?x=1', null), '/steal?x=1', 'only path and query count')
})

test('the query allowlist drops other parameters', async (t) => {
  const allow = new Set(['page', 'sort'])
  t.equal(normalizeUrl('/list?utm_source=mail&page=2&cb=123&sort=asc', allow), '/list?page=2&sort=asc')
  t.equal(normalizeUrl('/list?cb=1', allow), '/list')
  t.equal(normalizeUrl('/list?cb=1', new Set()), '/list')
})

test('data keys: equal data in any key order match; anything else differs', async (t) => {
  t.equal(canonicalData({ a: 1, b: 2 }), canonicalData({ b: 2, a: 1 }))
  t.equal(canonicalData({ x: { a: [1, { c: 3, d: 4 }] } }), canonicalData({ x: { a: [1, { d: 4, c: 3 }] } }))
  const distinct: unknown[] = [
    { a: '1,b' }, { a: '1', b: '' }, { a: 1 }, { a: '1' }, { a: true }, { a: 'true' }, { a: null }, { a: undefined }, {},
    [1, 2], [2, 1], '[1,2]', 1, '1', -0, 0, 1n, null, undefined, 'null', 'u',
    new Date(0), new Map([['a', 1]]), { a: 1, length: 1 }, new Set([1]), [1], new Uint8Array([1]), new Uint16Array([1]),
    { 'a"': 1 }, { a: '":1' }
  ]
  const keys = distinct.map((value) => canonicalData(value))
  t.equal(new Set(keys).size, keys.length, 'no two distinct values share a form')
})

test('data that cannot be keyed is reported, not guessed', async (t) => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const failure = (value: unknown): unknown => { try { canonicalData(value) } catch (error) { return error } }
  t.ok(failure(cyclic) instanceof UnkeyableDataError, 'a cycle')
  t.match(failure(cyclic), { message: 'data contains a cycle' })
  t.ok(failure({ fn: () => 1 }) instanceof UnkeyableDataError, 'a function')
  t.ok(failure(Symbol('s')) instanceof UnkeyableDataError, 'a symbol')
  const shared = { a: 1 }
  t.doesNotThrow(() => canonicalData({ x: shared, y: shared }), 'a shared object is not a cycle')
})

test('page keys hold the version, URL and data in full; route keys cannot collide with them', async (t) => {
  const key = pageKey('v1', '/a', { user: 'ada' })
  t.match(key, 'v1')
  t.match(key, '/a')
  t.match(key, '"user":"ada"')
  t.not(pageKey('v1', '/a', { user: 'ada' }), pageKey('v2', '/a', { user: 'ada' }), 'version is part of the key')
  t.not(pageKey('v1', '/a', { user: 'ada' }), pageKey('v1', '/a', { user: 'bob' }), 'data is part of the key')
  t.not(customKey('v1', pageKey('v1', '/a', undefined)), pageKey('v1', '/a', undefined))
  t.not(pageKey('v1', '/a\u0000b', 'c'), pageKey('v1', '/a', 'b\u0000c'))
})

test('deeply frozen data is serialized once and remembered; anything that can still change is not', async (t) => {
  const catalog = Object.freeze([Object.freeze({ id: 1, tags: Object.freeze(['a']) }), Object.freeze({ id: 2, tags: Object.freeze([]) })])
  const first = canonicalData({ catalog })
  t.equal(canonicalData({ catalog }), first, 'the same frozen catalog gives the same form')
  t.equal(canonicalData({ catalog: [{ id: 1, tags: ['a'] }, { id: 2, tags: [] }] }), first, 'and equal unfrozen data matches it')

  const inner = { name: 'a' }
  const shallow = Object.freeze({ inner })
  const before = canonicalData(shallow)
  inner.name = 'b'
  t.not(canonicalData(shallow), before, 'a frozen object over a mutable child is serialized afresh')

  let count = 0
  const withGetter = Object.freeze(Object.defineProperty({}, 'n', { enumerable: true, get: () => ++count }))
  t.not(canonicalData(withGetter), canonicalData(withGetter), 'a getter may answer differently, so it is never remembered')

  const dates = Object.freeze({ when: new Date(0) })
  const dateForm = canonicalData(dates)
  dates.when.setTime(1000)
  t.not(canonicalData(dates), dateForm, 'a Date changes inside even when its holder is frozen')
})
