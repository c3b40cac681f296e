import { renderChannel, traced } from '../tracing'
import {
  FST_SSR_CLOSING, FST_SSR_INVALID_DATA, FST_SSR_INVALID_RESULT, FST_SSR_RENDER_FAILED, FST_SSR_RENDER_TIMEOUT,
  FST_SSR_WORKER_CRASHED
} from '../errors'
import type { Page } from '../page'
import { andThen, type Maybe } from '../thenable'
import { admit, type AdmissionLimits } from './admission'
import { etagOf } from './encode'
import { PoolError, type CancelSource, type TaskRunner } from './pool'
import { BodyForm, type RenderFailure, type RenderOutcome, type RenderSuccess, type RenderTask } from './protocol'

/** What happened to the renders asked of the pool, by the names the metrics give them (metrics/snapshot.ts). */
export interface RenderCounters {
  /** Renders started in the pool. */
  total: number
  succeeded: number
  /** Renders that threw, rejected, returned an invalid result, or got data that cannot be cloned. */
  errors: number
  timeouts: number
  /** Renders lost with their worker (exit, out of memory). */
  crashes: number
  /** Requests answered 503 (queue full or closing) without a render. */
  rejected: number
  /** Renders dropped from the queue because no client waited for them any more. */
  cancelled: number
}

export function newRenderCounters (): RenderCounters {
  return { total: 0, succeeded: 0, errors: 0, timeouts: 0, crashes: 0, rejected: 0, cancelled: 0 }
}

export interface RenderLimits extends AdmissionLimits {
  threads: number
}

/**
 * The only path to a worker: admission, the deadline, the pool call, and the outcome as a page or a coded error,
 * counted. It knows nothing of caches or HTTP.
 */
export class Renderer {
  readonly counters: RenderCounters
  readonly #pool: () => TaskRunner
  readonly #limits: RenderLimits
  #closing = false

  /** `pool` gives the pool serving now (a reload replaces it); `counters` may be a larger object the caller reads. */
  constructor (pool: () => TaskRunner, limits: RenderLimits, counters: RenderCounters = newRenderCounters()) {
    this.#pool = pool
    this.#limits = limits
    this.counters = counters
  }

  /** From now on every render is refused with FST_SSR_CLOSING; those already admitted go on. */
  beginClose (): void {
    this.#closing = true
  }

  /**
   * Renders a page to be stored and sent again: its UTF-8 bytes, and brotli and gzip bodies when `compress`. Rejects
   * with a coded error: FST_SSR_QUEUE_FULL, FST_SSR_CLOSING, FST_SSR_RENDER_TIMEOUT, FST_SSR_RENDER_FAILED,
   * FST_SSR_INVALID_RESULT, FST_SSR_INVALID_DATA, FST_SSR_WORKER_CRASHED; or with the cancel signal's reason.
   */
  async render (url: string, data: unknown, timeoutMs: number, compress: boolean, cancel?: CancelSource, admitted = false): Promise<Page> {
    const { status, headers, body, br, gzip, etag } = await this.#run(url, data, timeoutMs, compress ? BodyForm.compressed : BodyForm.bytes, cancel, admitted)
    // Byte forms always answer bytes and a tag; the fallbacks only keep the types honest.
    const identity = typeof body === 'string' ? Buffer.from(body) : adopt(body)
    return { status, headers, bodies: { identity, br: adoptOrNull(br), gzip: adoptOrNull(gzip) }, etag: etag ?? etagOf(identity) }
  }

  /**
   * Renders a page sent once and never stored: as a string with `text` (the HTML the render returned), else as
   * whatever is cheaper to send (BodyForm.once: bytes from a worker, the string in the main thread). Fails as
   * render(), except that a render the pool answered at once (`threads: 0`, a synchronous bundle) answers at once:
   * the page, or the coded error thrown.
   */
  renderOnce (url: string, data: unknown, timeoutMs: number, cancel?: CancelSource, admitted = false, text = false): Maybe<Page<Buffer | string>> {
    return andThen(this.#run(url, data, timeoutMs, text ? BodyForm.text : BodyForm.once, cancel, admitted), oncePage)
  }

  /**
   * Throws what a render asked now would be refused with (FST_SSR_CLOSING, FST_SSR_QUEUE_FULL), counted as rejected:
   * so work a render needs first (loading its data) is not done for nothing.
   */
  admit (): void {
    if (this.#closing) {
      this.counters.rejected++
      throw new FST_SSR_CLOSING()
    }
    const pool = this.#pool()
    try {
      // With `threads: 0` the main thread is the one that renders.
      admit({ inFlight: pool.load.inFlight, threads: Math.max(1, this.#limits.threads), recentWaitMs: pool.load.recentWaitMs }, this.#limits)
    } catch (error) {
      this.counters.rejected++
      throw error
    }
  }

  /**
   * `admitted`: admit() let it in before its data was loaded; a close that began since does not refuse it. Not an
   * async function: what is refused throws here, and what runs is #attempt's answer, traced whole when someone
   * listens, so the span ends with the page or the coded error the request will get.
   */
  #run (url: string, data: unknown, timeoutMs: number, form: BodyForm, cancel: CancelSource | undefined, admitted: boolean): Maybe<RenderSuccess> {
    if (!admitted || !this.#closing) this.admit()
    const pool = this.#pool()
    this.counters.total++
    // The deadline starts now, before the queue: a render that waited past it is not run (see worker.ts).
    const task: RenderTask = [0, url, data, Date.now() + timeoutMs, form]
    if (!renderChannel.hasSubscribers) return this.#attempt(pool, task, cancel)
    return traced(renderChannel, () => ({ url, timeoutMs }), async () => await this.#attempt(pool, task, cancel))
  }

  /** The pool's answer as a success, or a coded error: thrown when the pool answered at once, else rejected. */
  #attempt (pool: TaskRunner, task: RenderTask, cancel: CancelSource | undefined): Maybe<RenderSuccess> {
    let answer
    try {
      answer = pool.run(task, task[3], cancel)
    } catch (error) {
      throw this.#poolFailure(error)
    }
    if (!(answer instanceof Promise)) return this.#judge(answer)
    return answer.then((outcome) => this.#judge(outcome), (error: unknown) => { throw this.#poolFailure(error) })
  }

  #judge (outcome: RenderOutcome): RenderSuccess {
    if (outcome.ok) {
      this.counters.succeeded++
      return outcome
    }
    if (outcome.reason === 'expired') {
      this.counters.timeouts++
      throw new FST_SSR_RENDER_TIMEOUT()
    }
    this.counters.errors++
    throw renderError(outcome)
  }

  /** Why the pool gave no answer, as a coded error. */
  #poolFailure (error: unknown): unknown {
    if (!(error instanceof PoolError)) return error
    switch (error.kind) {
      case 'timeout':
        this.counters.timeouts++
        return new FST_SSR_RENDER_TIMEOUT()
      case 'aborted':
        // The reason given: FST_SSR_CLOSING at the close timeout, the caller's own when no client waits any more.
        if (!isClosing(error.cause)) this.counters.cancelled++
        return error.cause
      case 'closed':
        return new FST_SSR_CLOSING()
      case 'unclonable':
        // Data the structured clone cannot carry never reached a worker: the route's mistake, not a crash.
        this.counters.errors++
        return new FST_SSR_INVALID_DATA({ cause: error.cause })
      default:
        this.counters.crashes++
        return new FST_SSR_WORKER_CRASHED({ cause: error.cause })
    }
  }
}

function isClosing (reason: unknown): boolean {
  return (reason as { code?: unknown } | null)?.code === 'FST_SSR_CLOSING'
}

function renderError (outcome: RenderFailure): Error {
  // The bundle's message and stack stay on `cause`, for logs; the coded error itself says nothing of them.
  const cause = Object.assign(new Error(outcome.message), { stack: outcome.stack ?? outcome.message })
  return outcome.reason === 'result'
    ? new FST_SSR_INVALID_RESULT({ cause })
    : new FST_SSR_RENDER_FAILED({ cause })
}

function oncePage ({ status, headers, body, lease }: RenderSuccess): Page<Buffer | string> {
  const identity = typeof body === 'string' ? body : adopt(body)
  return { status, headers, bodies: { identity, br: null, gzip: null }, etag: null, lease }
}

/** A Buffer over bytes transferred from a worker, without copying them. */
function adopt (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function adoptOrNull (bytes: Uint8Array | null): Buffer | null {
  return bytes === null ? null : adopt(bytes)
}
