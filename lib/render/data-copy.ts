import { types } from 'node:util'
import { isDeeplyImmutable } from '../immutable'

/**
 * The data a render receives with `threads: 0`: what `structuredClone` gives (what a worker receives through
 * postMessage), so that a bundle cannot change the route's objects and data that could not reach a worker fails
 * the same way here. Two differences, both for speed:
 * - deeply frozen parts (isDeeplyImmutable) are passed as they are, not copied: nothing can change them, and a
 *   catalog passed on every request is then copied never;
 * - arrays and plain objects are copied here, in JavaScript: for such data Node 20's structuredClone costs four to
 *   five times as much (7 µs against 1.4 µs for the product page's data, 33 µs against 8 µs for the listing's,
 *   unfrozen). Anything else anywhere in the data (a Date, a Map, a class instance, a proxy, a hole in an array)
 *   hands the whole value to structuredClone, which then copies it, or throws what it throws for it.
 */
export function copyData (value: unknown): unknown {
  // A getter in the data could start another render, and so another copy, before this one ends.
  const copies = reusableInUse ? new Copies() : reusable
  reusableInUse = true
  try {
    return copy(value, copies)
  } catch (error) {
    if (error !== notPlain) throw error
    return structuredClone(value)
  } finally {
    if (copies === reusable) {
      reusable.reset()
      reusableInUse = false
    }
  }
}

/**
 * Originals to their copies, for one copyData() call. Most data has a few objects to copy around frozen parts
 * (the product page's: one), so they are kept in two arrays searched in turn, reused by every call, and a Map is
 * made only past `few`: clearing a Map allocates its table anew, which for such data cost as much as the copy.
 */
class Copies {
  static readonly few = 16
  readonly #originals: Array<object | undefined> = []
  readonly #copies: unknown[] = []
  #count = 0
  #map: Map<object, unknown> | null = null

  get (original: object): unknown {
    if (this.#map !== null) return this.#map.get(original)
    for (let i = 0; i < this.#count; i++) if (this.#originals[i] === original) return this.#copies[i]
    return undefined
  }

  set (original: object, copy: unknown): void {
    if (this.#map === null && this.#count === Copies.few) {
      this.#map = new Map()
      for (let i = 0; i < this.#count; i++) this.#map.set(this.#originals[i] as object, this.#copies[i])
    }
    if (this.#map !== null) {
      this.#map.set(original, copy)
      return
    }
    this.#originals[this.#count] = original
    this.#copies[this.#count] = copy
    this.#count++
  }

  /** Forgets every pair, keeping neither the route's objects nor their copies alive. */
  reset (): void {
    for (let i = 0; i < this.#count; i++) {
      this.#originals[i] = undefined
      this.#copies[i] = undefined
    }
    this.#count = 0
    this.#map = null
  }
}

/** The one Copies nearly every call uses, as nearly every call runs alone. */
const reusable = new Copies()
let reusableInUse = false

/** Thrown to hand the whole value to structuredClone. */
const notPlain = new Error('not plain data')

function copy (value: unknown, copies: Copies): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw notPlain
    return value
  }
  if (isDeeplyImmutable(value)) return value
  // Shared and cyclic references stay shared, as structuredClone keeps them.
  const copied = copies.get(value)
  if (copied !== undefined) return copied
  // Read before the prototype: a proxy's getPrototypeOf is a trap.
  if (types.isProxy(value)) throw notPlain
  const proto = Object.getPrototypeOf(value)
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) throw notPlain
    return copyArray(value, copies)
  }
  // An arguments object has Object's prototype, a module namespace none: each checked only where it could be.
  if (proto === Object.prototype ? types.isArgumentsObject(value) : proto !== null || types.isModuleNamespaceObject(value)) throw notPlain
  const out: Record<string, unknown> = {}
  copies.set(value, out)
  for (const key of Object.keys(value)) {
    const item = copy((value as Record<string, unknown>)[key], copies)
    // An own "__proto__" stays an own property, as in structuredClone's copy, rather than setting the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true })
    else out[key] = item
  }
  return out
}

function copyArray (value: unknown[], copies: Copies): unknown[] {
  // Holes and named properties of an array are structuredClone's to copy. Index keys come first and in order, so
  // with as many keys as elements and the last of them the last index, every key is an index and none is missing.
  const keys = Object.keys(value)
  if (keys.length !== value.length || (keys.length > 0 && keys[keys.length - 1] !== String(keys.length - 1))) throw notPlain
  const out = new Array<unknown>(value.length)
  copies.set(value, out)
  for (let i = 0; i < value.length; i++) out[i] = copy(value[i], copies)
  return out
}
