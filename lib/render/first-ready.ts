import type { RenderFailure } from './protocol'
import { PoolError } from './pool-types'

/**
 * The pool's first sign of life: settles once, when the first worker has loaded the bundle (null when it can
 * render, else its load failure) or died loading it. ready() reads it under a deadline; it never rejects unread.
 */
export class FirstReady {
  readonly #settled: Promise<RenderFailure | null>
  #resolve: ((failure: RenderFailure | null) => void) | null = null
  #reject: ((error: unknown) => void) | null = null

  constructor () {
    this.#settled = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // Never an unhandled rejection: ready() is how it is read.
    this.#settled.catch(() => {})
  }

  /** Whether it is still open (no worker has loaded or died yet). */
  get pending (): boolean {
    return this.#resolve !== null
  }

  loaded (failure: RenderFailure | null): void {
    this.#resolve?.(failure)
    this.#close()
  }

  failed (error: PoolError): void {
    this.#reject?.(error)
    this.#close()
  }

  /** The first load's result; rejects with PoolError('timeout') past `timeoutMs`, or with what failed() was given. */
  async ready (timeoutMs: number): Promise<RenderFailure | null> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new PoolError('timeout', new Error(`no worker loaded the bundle within ${timeoutMs} ms`))), timeoutMs)
    })
    try {
      return await Promise.race([this.#settled, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  #close (): void {
    this.#resolve = null
    this.#reject = null
  }
}
