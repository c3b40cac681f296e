import { types } from 'node:util'
import { isDeeplyImmutable } from '../immutable'
import type { PostedTask, RenderTask } from './protocol'

/**
 * Deeply frozen data is sent to each worker once. postMessage copies a task's data on both sides of the thread
 * boundary: the listing page's 50 products cost ~30 µs to serialize in the main thread and ~40 µs to read back in
 * the worker, on every render, which is more than the pool's whole hand-over (bench/RESULTS.md). Data that cannot
 * change (isDeeplyImmutable: a frozen catalog passed on every request) is the same on every render, so a worker keeps
 * the copy it was sent (frozen, as the route's was: frozen-store.ts) and later tasks name it by number.
 *
 * What is looked at: the data itself, and, when the data is a plain object, each of its own values. Deeper frozen
 * parts inside unfrozen ones, and the items of an array, go by copy as before: finding them would mean walking all
 * of the data, on every render, for routes whose data has none. A frozen value is known by identity; its number is
 * forgotten, in every worker, once the main thread's copy is garbage-collected, and each worker keeps at most
 * `perWorker` values, the least recently used going first.
 *
 * What the render gets is what a copy would give, with one difference: an object deeper in the data that refers back
 * to the data object itself (a cycle through the top) gets a copy of its own of the data object rather than the same
 * one, when the top level holds frozen values. The top level is copied here to leave the route's object untouched,
 * and that copy is not what the deeper reference points to.
 */

/** Most frozen values one worker keeps; the least recently used is dropped past it (and sent again when needed). */
export const frozenPerWorker = 1024

/** The numbers given to frozen values, one per value for the whole pool, and which workers were sent each. */
export class FrozenValues {
  readonly #ids = new WeakMap<object, number>()
  #last = 0
  readonly #senders = new Set<FrozenSender>()
  readonly #collected = new FinalizationRegistry<number>((id) => {
    for (const sender of this.#senders) sender.collected(id)
  })

  /** A sender for one worker, forgotten with `drop` when the worker goes. */
  sender (perWorker = frozenPerWorker): FrozenSender {
    const sender = new FrozenSender(this, perWorker)
    this.#senders.add(sender)
    return sender
  }

  drop (sender: FrozenSender): void {
    this.#senders.delete(sender)
  }

  idOf (value: object): number {
    let id = this.#ids.get(value)
    if (id === undefined) {
      id = ++this.#last
      this.#ids.set(value, id)
      this.#collected.register(value, id)
    }
    return id
  }
}

/** One worker's side: which frozen values it holds, and the message that carries a task to it. */
export class FrozenSender {
  readonly #values: FrozenValues
  readonly #perWorker: number
  /** Numbers the worker holds, least recently used first (a Map keeps insertion order; a use moves one to the end). */
  readonly #held = new Map<number, true>()
  /** Numbers the worker may drop, sent with the next task. */
  #forgotten: number[] = []
  /** What the last message sent for the first time: held once it is posted (commit). */
  readonly #sending: number[] = []

  constructor (values: FrozenValues, perWorker: number) {
    this.#values = values
    this.#perWorker = perWorker
  }

  /**
   * The message for `task`: its frozen parts replaced by numbers, with those the worker does not hold yet attached.
   * Call commit() once it is posted; a message that could not be posted is simply not committed.
   */
  message (task: RenderTask): PostedTask {
    const [id, url, data, deadline, form] = task
    this.#sending.length = 0
    if (typeof data !== 'object' || data === null) return this.#plain(task)
    if (isDeeplyImmutable(data)) {
      const news: unknown[] = []
      const root = this.#refer(data, news)
      this.#evict()
      return [id, url, null, deadline, form, [root, [], [], news, this.#forgotten]]
    }
    return this.#withTopLevel(task, data)
  }

  /** The task's message posted: the values it sent are the worker's now. */
  commit (): void {
    for (const id of this.#sending) this.#held.set(id, true)
    this.#sending.length = 0
    if (this.#forgotten.length > 0) this.#forgotten = []
  }

  /** The main thread's copy of `id` was collected: the worker may drop its own. */
  collected (id: number): void {
    if (this.#held.delete(id)) this.#forgotten.push(id)
  }

  #withTopLevel (task: RenderTask, data: object): PostedTask {
    const copy = topLevelCopy(data as Record<string, unknown>)
    if (copy === null) return this.#plain(task)
    const keys: string[] = []
    const ids: number[] = []
    const news: unknown[] = []
    for (const key of Object.keys(copy)) {
      const value = copy[key]
      // An own "__proto__" cannot be set to a placeholder by assignment; it is rare enough to go by copy.
      if (typeof value !== 'object' || value === null || key === '__proto__' || !isDeeplyImmutable(value)) continue
      // One message never names more values than a worker keeps.
      if (ids.length === this.#perWorker) break
      keys.push(key)
      ids.push(this.#refer(value, news))
      copy[key] = null
    }
    const [id, url, , deadline, form] = task
    if (ids.length === 0) return this.#plain(task)
    this.#evict()
    return [id, url, copy, deadline, form, [0, keys, ids, news, this.#forgotten]]
  }

  /** The number of a frozen value, which is appended to `news` (number, value) when the worker does not hold it. */
  #refer (value: object, news: unknown[]): number {
    const id = this.#values.idOf(value)
    if (this.#held.has(id)) {
      // Most recently used: moved to the end.
      this.#held.delete(id)
      this.#held.set(id, true)
    } else if (!this.#sending.includes(id)) {
      this.#sending.push(id)
      news.push(id, value)
    }
    return id
  }

  /**
   * Makes room for the values the message sends, before it is posted, so that a worker never holds more than
   * `perWorker`: the least recently used go, and the message tells the worker to drop them first. Those the message
   * names were just moved to the end, and one message names at most `perWorker`, so none of them goes.
   */
  #evict (): void {
    for (const id of this.#held.keys()) {
      if (this.#held.size + this.#sending.length <= this.#perWorker) break
      this.#held.delete(id)
      this.#forgotten.push(id)
    }
  }

  /** The task as it is, with the numbers the worker may drop, if any. */
  #plain ([id, url, data, deadline, form]: RenderTask): PostedTask {
    return [id, url, data, deadline, form, this.#forgotten.length === 0 ? null : [0, [], [], [], this.#forgotten]]
  }
}

/**
 * A shallow copy of the data's top level, whose frozen values can be swapped for numbers without touching the
 * route's object; null when it is not a plain object, or has a getter at its top (then it goes by copy, as before,
 * and the getter runs once, in postMessage's copy). Values are read from their descriptors, so no getter runs here.
 */
function topLevelCopy (data: Record<string, unknown>): Record<string, unknown> | null {
  if (types.isProxy(data) || Array.isArray(data)) return null
  const proto = Object.getPrototypeOf(data)
  if (proto !== Object.prototype && proto !== null) return null
  if (types.isArgumentsObject(data) || types.isModuleNamespaceObject(data)) return null
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(data)) {
    const descriptor = Object.getOwnPropertyDescriptor(data, key)
    if (descriptor === undefined || !('value' in descriptor)) return null
    // A data object that holds itself keeps holding itself.
    const value = descriptor.value === data ? copy : descriptor.value
    if (key === '__proto__') Object.defineProperty(copy, key, { value, writable: true, enumerable: true, configurable: true })
    else copy[key] = value
  }
  return copy
}
