import type { PostedTask } from './protocol'

/**
 * A worker's side of frozen-send.ts: the frozen values it was sent, by number, kept between tasks. Each is frozen
 * again on arrival (postMessage's copy is not), so the bundle gets what the route passed: data it cannot change, the
 * same object on every render, as it would with `threads: 0`.
 */
export class FrozenStore {
  readonly #values = new Map<number, unknown>()

  /**
   * The task's data with its frozen parts back in place. Every task posted is read here, in order, whether it is then
   * rendered, skipped or expired: the main thread counts what it sent as held from the moment it posted it.
   */
  dataOf (task: PostedTask): unknown {
    const parts = task[5]
    if (parts === null) return task[2]
    const [root, keys, ids, news, forgotten] = parts
    for (const id of forgotten) this.#values.delete(id)
    for (let i = 0; i < news.length; i += 2) this.#values.set(news[i] as number, deepFreeze(news[i + 1]))
    if (root !== 0) return this.#value(root)
    const data = task[2] as Record<string, unknown>
    for (let i = 0; i < keys.length; i++) data[keys[i]] = this.#value(ids[i])
    return data
  }

  get size (): number {
    return this.#values.size
  }

  #value (id: number): unknown {
    if (!this.#values.has(id)) throw new Error(`frozen value ${id} was never sent to this worker`)
    return this.#values.get(id)
  }
}

/** Freezes a copy made by postMessage from deeply frozen data: plain objects and arrays, no cycles (isDeeplyImmutable). */
function deepFreeze (value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const child of Object.values(value)) deepFreeze(child)
  return Object.freeze(value)
}
