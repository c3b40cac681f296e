import { isDeepStrictEqual } from 'node:util'
import { test, type Test } from 'tap'
import { isDeeplyImmutable } from '../lib/immutable'
import { copyData } from '../lib/render/data-copy'

// copyData must give what structuredClone gives (what a worker receives), except that deeply frozen parts are the
// same objects: every case is checked against structuredClone itself.

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

function sameAsStructuredClone (t: Test, value: unknown, label: string): unknown {
  const copied = copyData(value)
  const cloned = structuredClone(value)
  t.ok(isDeepStrictEqual(copied, cloned), `${label}: equal to structuredClone's copy`)
  return copied
}

test('plain data is copied, as structuredClone copies it', async (t) => {
  const cases: Record<string, unknown> = {
    primitives: [1, 'two', true, null, undefined, 3n, -0, Number.NaN],
    nested: { a: { b: [1, { c: 'd' }] }, e: [] },
    'null prototype': Object.assign(Object.create(null), { a: 1 }),
    'integer-like keys keep their order': { b: 1, 2: 'x', a: 2, 1: 'y' },
    'a getter is read': Object.defineProperty({}, 'g', { get: () => 42, enumerable: true }),
    'non-enumerable and symbol keys are dropped': Object.defineProperty({ [Symbol('s')]: 1, kept: 2 }, 'hidden', { value: 3, enumerable: false })
  }
  for (const [label, value] of Object.entries(cases)) {
    const copied = sameAsStructuredClone(t, value, label)
    if (typeof value === 'object' && value !== null) t.not(copied, value, `${label}: a copy, not the object`)
  }
  const nullProto = copyData(Object.assign(Object.create(null), { a: 1 })) as object
  t.equal(Object.getPrototypeOf(nullProto), Object.prototype, 'a null-prototype object arrives as a plain object, as after structuredClone')
  const getter = copyData(Object.defineProperty({}, 'g', { get: () => 42, enumerable: true })) as object
  t.same(Object.getOwnPropertyDescriptor(getter, 'g'), { value: 42, writable: true, enumerable: true, configurable: true }, 'a getter becomes its value')
})

test('an own "__proto__" key stays an own property and sets no prototype', async (t) => {
  const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')
  const copied = copyData(value) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(copied), Object.prototype)
  t.same(Object.keys(copied), ['__proto__', 'a'])
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.ok(isDeepStrictEqual(copied, structuredClone(value)))
})

test('shared and cyclic references stay shared, as structuredClone keeps them', async (t) => {
  const shared = { n: 1 }
  const value: Record<string, unknown> = { a: shared, b: [shared] }
  value.self = value
  const copied = copyData(value) as { a: object, b: object[], self: unknown }
  t.not(copied.a, shared)
  t.equal(copied.a, copied.b[0])
  t.equal(copied.self, copied)

  // Past the few pairs kept in arrays, the pairs move to a Map: references before and after the move stay shared.
  const many = Array.from({ length: 40 }, (_, i) => ({ i }))
  const big: Record<string, unknown> = { many, again: many.slice().reverse(), first: many[0], last: many[39] }
  big.self = big
  const bigCopy = copyData(big) as { many: object[], again: object[], first: object, last: object, self: unknown }
  t.equal(bigCopy.first, bigCopy.many[0], 'a pair from the arrays')
  t.equal(bigCopy.last, bigCopy.many[39], 'a pair from the Map')
  t.ok(bigCopy.again.every((item, i) => item === bigCopy.many[39 - i]), 'every element shared with its copy')
  t.equal(bigCopy.self, bigCopy)
  t.ok(isDeepStrictEqual(bigCopy, structuredClone(big)), "equal to structuredClone's copy")
  const small = copyData({ a: { b: 1 } }) as { a: { b: number } }
  t.same(small, { a: { b: 1 } }, 'and the next call starts afresh')
})

test('deeply frozen parts are passed as they are; the rest is copied', async (t) => {
  const catalog = deepFreeze({ products: [{ id: 'a', tags: ['x'] }, { id: 'b', tags: [] }] })
  const data = { catalog, page: 2, user: { name: 'n' } }
  const copied = copyData(data) as typeof data
  t.not(copied, data, 'the unfrozen outer object is copied')
  t.equal(copied.catalog, catalog, 'the deeply frozen catalog is the same object')
  t.not(copied.user, data.user)
  t.ok(isDeepStrictEqual(copied, structuredClone(data)))
  t.equal(copyData(catalog), catalog, 'deeply frozen data as a whole is not copied')

  // Frozen on the outside only: its inside could change, so it is copied.
  const shallow = Object.freeze({ inner: { n: 1 } })
  t.not(copyData(shallow), shallow)
  t.not((copyData(shallow) as typeof shallow).inner, shallow.inner)
  t.equal(isDeeplyImmutable(shallow), false)
  // A frozen getter could answer differently next time.
  const withGetter = Object.freeze(Object.defineProperty({}, 'g', { get: () => 1, enumerable: true }))
  t.equal(isDeeplyImmutable(withGetter), false)
  t.not(copyData(withGetter), withGetter)
  // A frozen cycle is not trusted either.
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  Object.freeze(cyclic)
  t.equal(isDeeplyImmutable(cyclic), false)
  t.not(copyData(cyclic), cyclic)
  // A frozen proxy answers through its traps.
  const proxy = new Proxy(Object.freeze({ a: 1 }), {})
  t.equal(isDeeplyImmutable(Object.freeze({ proxy })), false)
})

test('anything but plain data goes to structuredClone whole: same copy, same errors', async (t) => {
  class Point { x = 1 }
  const holes = [1, , 3] // eslint-disable-line no-sparse-arrays
  const named = Object.assign([1, 2], { extra: 'kept' })
  const frozenDate = deepFreeze({ when: new Date(0) })
  const values: Record<string, unknown> = {
    date: { when: new Date(0), list: [new Map([[1, new Set([2])]])] },
    'class instance': { point: new Point() },
    'array hole': { holes },
    'named array property': { named },
    'typed array': { bytes: new Uint8Array([1, 2]) },
    'a frozen Date is still copied': frozenDate
  }
  for (const [label, value] of Object.entries(values)) sameAsStructuredClone(t, value, label)
  const copiedHoles = (copyData({ holes }) as { holes: unknown[] }).holes
  t.notOk(1 in copiedHoles, 'the hole stays a hole')
  t.equal((copyData({ named }) as { named: { extra?: string } }).named.extra, 'kept')
  t.not((copyData(frozenDate) as typeof frozenDate).when, frozenDate.when)

  const unclonable: Record<string, unknown> = {
    function: { f () {} },
    symbol: { s: Symbol('s') },
    proxy: { p: new Proxy({}, {}) },
    'arguments object': { args: (function () { return arguments })() },
    'function in frozen data': deepFreeze({ f () {} })
  }
  for (const [label, value] of Object.entries(unclonable)) {
    let expected: unknown
    try {
      structuredClone(value)
    } catch (error) {
      expected = error
    }
    t.ok(expected instanceof Error, `${label}: structuredClone refuses it`)
    t.throws(() => copyData(value), { name: (expected as Error).name, message: (expected as Error).message }, `${label}: refused the same way`)
  }
})
