/** Whether a value is to be waited for: a promise of any realm (a bundle's), or any object with a `then` method. */
export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * A value, or a promise of it: what the steps of a render answer, so that a render that never had to wait (the
 * bundle in the main thread returning its page at once, `threads: 0`) is answered in the same call, with no promise
 * or microtask per step. Only native promises stand for "later" between the plugin's own steps.
 */
export type Maybe<T> = T | Promise<T>

/** `then` for a Maybe: applies `next` now to a value, or when the promise fulfils. */
export function andThen<T, U> (value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}
