import { FST_SSR_CLOSING, FST_SSR_RENDER_TIMEOUT } from '../../dist/errors.js'
import { etagOf } from '../../dist/render/encode.js'
import { newRenderCounters } from '../../dist/render/renderer.js'
import type { PageRenderer } from '../../dist/page-maker.js'
import type { Page, PageHeaders } from '../../dist/page.js'
import type { CancelSource } from '../../dist/render/pool.js'

/**
 * A PageRenderer whose renders the test settles by hand, so the engine's decisions (cache, coalescing, stale
 * windows, purges, close) are tested in milliseconds, without workers. It keeps the real renderer's contract
 * (render/renderer.ts, render/pool.ts): admission refuses with FST_SSR_CLOSING once closing (unless admitted before),
 * a cancel signal drops a render only while it is still queued, and the counters move as the real ones do.
 */

/** What a test answers a render with; status 200, no headers and `<p>url</p>` unless given. */
export interface FakeAnswer {
  status?: number
  headers?: PageHeaders
  html?: string
}

/** One render asked of the fake. `once`: asked by renderOnce (a page never stored: text body, no ETag). */
export class FakeRender {
  readonly promise: Promise<Page<Buffer | string>>
  /** False while queued: a cancel drops it then. Renders run at once unless the renderer was made `queued`. */
  running: boolean
  settled = false
  #resolve!: (page: Page<Buffer | string>) => void
  #reject!: (error: unknown) => void

  constructor (readonly url: string, readonly data: unknown, readonly once: boolean, readonly admitted: boolean,
    running: boolean, readonly counters: ReturnType<typeof newRenderCounters>) {
    this.running = running
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  /** A worker takes the queued render: from now on a cancel no longer drops it. */
  start (): void {
    this.running = true
  }

  resolve (answer: FakeAnswer = {}): void {
    const html = answer.html ?? `<p>${this.url}</p>`
    const page = this.once
      ? { status: answer.status ?? 200, headers: answer.headers ?? {}, bodies: { identity: html, br: null, gzip: null }, etag: null }
      : { status: answer.status ?? 200, headers: answer.headers ?? {}, bodies: { identity: Buffer.from(html), br: null, gzip: null }, etag: etagOf(Buffer.from(html)) }
    this.#settle(() => this.#resolve(page), 'succeeded')
  }

  /** Fails it with a coded error, as the real renderer would (FST_SSR_RENDER_FAILED, FST_SSR_RENDER_TIMEOUT…). */
  reject (error: unknown): void {
    this.#settle(() => this.#reject(error), error instanceof FST_SSR_RENDER_TIMEOUT ? 'timeouts' : 'errors')
  }

  /** Dropped before it ran (its cancel signal) or stopped (the close timeout): rejects with the reason given. */
  drop (reason: unknown): void {
    const closing = reason instanceof FST_SSR_CLOSING
    this.#settle(() => this.#reject(reason), closing ? null : 'cancelled')
  }

  #settle (settle: () => void, counter: 'succeeded' | 'errors' | 'timeouts' | 'cancelled' | null): void {
    if (this.settled) throw new Error(`render of ${this.url} settled twice`)
    this.settled = true
    if (counter !== null) this.counters[counter]++
    settle()
  }
}

export class FakeRenderer implements PageRenderer {
  readonly counters = newRenderCounters()
  /** Every render asked, in order. */
  readonly calls: FakeRender[] = []
  readonly #queued: boolean
  #closing = false
  #waiting: Array<{ count: number, resolve: (render: FakeRender) => void }> = []

  /** `queued`: renders wait, cancellable, until the test start()s them (as with every worker busy). */
  constructor (options: { queued?: boolean } = {}) {
    this.#queued = options.queued ?? false
  }

  async render (url: string, data: unknown, _timeoutMs: number, _compress: boolean, cancel?: CancelSource, admitted = false): Promise<Page> {
    return await this.#run(url, data, false, cancel, admitted) as Page
  }

  async renderOnce (url: string, data: unknown, _timeoutMs: number, cancel?: CancelSource, admitted = false): Promise<Page<string>> {
    return await this.#run(url, data, true, cancel, admitted) as Page<string>
  }

  admit (): void {
    if (!this.#closing) return
    this.counters.rejected++
    throw new FST_SSR_CLOSING()
  }

  beginClose (): void {
    this.#closing = true
  }

  /** Resolves with the `count`th render (1-based) once it has been asked: at once if it already was. */
  async called (count: number): Promise<FakeRender> {
    const asked = this.calls[count - 1]
    if (asked !== undefined) return asked
    return await new Promise((resolve) => this.#waiting.push({ count, resolve }))
  }

  /** Stops every render not settled (the engine's close timeout, through BundleSide.abort). */
  abort (reason: unknown): void {
    for (const render of this.calls) if (!render.settled) render.drop(reason)
  }

  async #run (url: string, data: unknown, once: boolean, cancel: CancelSource | undefined, admitted: boolean): Promise<Page<Buffer | string>> {
    // As the real one: a render admitted before its data was loaded is not refused by a close that began since.
    if (!admitted || !this.#closing) this.admit()
    this.counters.total++
    const render = new FakeRender(url, data, once, admitted, !this.#queued, this.counters)
    this.calls.push(render)
    this.#listen(render, cancel?.signal)
    for (const waiter of this.#waiting.filter((waiter) => waiter.count === this.calls.length)) waiter.resolve(render)
    this.#waiting = this.#waiting.filter((waiter) => waiter.count !== this.calls.length)
    return await render.promise
  }

  /** Only a render still queued hears its cancel signal (see pool.ts): a running one finishes. */
  #listen (render: FakeRender, signal: AbortSignal | undefined): void {
    if (signal === undefined || render.running) return
    const onAbort = (): void => { if (!render.running && !render.settled) render.drop(signal.reason) }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  }
}
