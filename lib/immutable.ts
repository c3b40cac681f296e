import { types } from 'node:util'

/**
 * Deeply immutable data: frozen arrays and plain objects whose every property is a plain value and, below them,
 * more of the same. Such data cannot change once checked, so the answer is remembered per object: routes that pass
 * the same frozen catalog on every request check it once. Cache keys (cache/key.ts) remember its canonical form;
 * `threads: 0` passes it to the render without copying it (render/data-copy.ts).
 */

/** One node: frozen, an array or plain object, and every own property a plain value (a getter could answer differently next time). */
export function isImmutableNode (value: object): boolean {
  // Frozen proxies answer through traps: never trusted.
  if (!Object.isFrozen(value) || types.isProxy(value)) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false
  const descriptors = Object.getOwnPropertyDescriptors(value)
  for (const key in descriptors) if (!('value' in descriptors[key])) return false
  return true
}

const deeplyImmutable = new WeakSet<object>()

/** True for a primitive that structuredClone copies, or for a node and everything below it immutable (see isImmutableNode); remembered when true. */
export function isDeeplyImmutable (value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'function' && typeof value !== 'symbol'
  if (deeplyImmutable.has(value)) return true
  // Most data a route builds per request is not frozen: answered before any walk is set up.
  if (!Object.isFrozen(value)) return false
  return checkDeeply(value, new Set())
}

// A cycle counts as mutable: the nodes on it were checked assuming one another, and could be remembered before a
// mutable node elsewhere on the cycle was found. So a subtree found immutable has no cycle, and is remembered.
function checkDeeply (value: object, ancestors: Set<object>): boolean {
  if (deeplyImmutable.has(value)) return true
  if (ancestors.has(value) || !isImmutableNode(value)) return false
  ancestors.add(value)
  for (const child of Object.values(value)) {
    // Neither could reach a worker: such data must still fail as it would there.
    if (typeof child === 'function' || typeof child === 'symbol') return false
    if (typeof child === 'object' && child !== null && !checkDeeply(child, ancestors)) return false
  }
  ancestors.delete(value)
  deeplyImmutable.add(value)
  return true
}
