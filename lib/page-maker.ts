import { uncachedCacheControl, withCacheHeaders, type PageVary, type StorePolicy } from './cache/policy'
import { isLoader, loadData, type DataLoader } from './loader'
import type { Page } from './page'
import { andThen, type Maybe } from './thenable'
import type { CancelSource } from './render/pool'
import type { RenderCounters } from './render/renderer'

/** What the engine needs of a renderer (render/renderer.ts); tests give it a fake one. */
export interface PageRenderer {
  readonly counters: RenderCounters
  /** `admitted`: admit() let it in before its data was loaded, and a close since must not refuse it. */
  render (url: string, data: unknown, timeoutMs: number, compress: boolean, cancel?: CancelSource, admitted?: boolean): Promise<Page>
  /** The page at once (or the coded error thrown) when the pool answered at once; else a promise of it. */
  /** `text`: the HTML as a string (else bytes where they are cheaper to send: see BodyForm.once). */
  renderOnce (url: string, data: unknown, timeoutMs: number, cancel?: CancelSource, admitted?: boolean, text?: boolean): Maybe<Page<Buffer | string>>
  /** Throws what a render asked now would be refused with (FST_SSR_CLOSING, FST_SSR_QUEUE_FULL). */
  admit (): void
  beginClose (): void
}

/** A page made to be stored: with its render time, and how long it may be stored (null: not at all). */
export type MadePage = Page & { renderedAt: number, ttl: number | null }

/**
 * How a page is made: its data loaded if a loader gives it (only now, within the render's deadline, and not at all
 * when the queue would refuse the render), then rendered, then given the headers that tell caches downstream what
 * they may do with it.
 */
export class PageMaker {
  readonly #renderer: PageRenderer
  readonly #policy: StorePolicy
  readonly #now: () => number
  readonly #compress: boolean

  /** `now` is the cache's clock (render times, Age); `compress`: pages to store get br and gzip bodies. */
  constructor (renderer: PageRenderer, policy: StorePolicy, now: () => number, compress: boolean) {
    this.#renderer = renderer
    this.#policy = policy
    this.#now = now
    this.#compress = compress
  }

  /** A page to store (a miss, a refresh): bytes, compressed bodies, its TTL and the caching headers of `vary`. */
  async forStore (url: string, data: unknown, request: unknown, timeoutMs: number, vary: PageVary, cancel: CancelSource): Promise<MadePage> {
    const start = Date.now()
    // Data at hand goes to the renderer within this call: a render asked before a close begins is admitted.
    const loader = isLoader(data)
    let value = loader ? this.#load(data, request, timeoutMs) : data
    if (loader && value instanceof Promise) value = await value
    const page = await this.#renderer.render(url, value, remaining(start, timeoutMs), this.#compress, cancel, loader)
    const renderedAt = this.#now()
    const { headers, ttl } = withCacheHeaders({ url, status: page.status, headers: page.headers }, renderedAt, vary, this.#policy)
    return { ...page, headers, renderedAt, ttl }
  }

  /**
   * A page sent once and never stored (the cache off), `private, no-store`: the HTML as a string with `text`, else
   * as the renderer finds it cheapest to send. At once (or thrown) when neither the loader nor the render had to be
   * waited for, else a promise.
   */
  once (url: string, data: unknown, request: unknown, timeoutMs: number, cancel: CancelSource | undefined, text = false): Maybe<Page<Buffer | string>> {
    const start = Date.now()
    const loader = isLoader(data)
    const value = loader ? this.#load(data, request, timeoutMs) : data
    if (loader && value instanceof Promise) return value.then((loaded) => this.#renderOnce(url, loaded, start, timeoutMs, cancel, loader, text))
    return this.#renderOnce(url, value, start, timeoutMs, cancel, loader, text)
  }

  #renderOnce (url: string, value: unknown, start: number, timeoutMs: number, cancel: CancelSource | undefined, admitted: boolean, text: boolean): Maybe<Page<Buffer | string>> {
    return andThen(this.#renderer.renderOnce(url, value, remaining(start, timeoutMs), cancel, admitted, text), uncached)
  }

  /** The loader's value, or a promise of it (loadData); throws what admission refuses the render with. */
  #load (data: DataLoader, request: unknown, timeoutMs: number): unknown {
    this.#renderer.admit()
    return loadData(data, request, timeoutMs)
  }
}

/** The headers are this render's own object (render/result.ts makes one per render): completed in place. */
function uncached (page: Page<Buffer | string>): Page<Buffer | string> {
  page.headers['cache-control'] ??= uncachedCacheControl
  return page
}

/** What is left of a deadline that began at `start`; at least 1 ms, so the render is asked and answers the timeout. */
function remaining (start: number, timeoutMs: number): number {
  return Math.max(1, timeoutMs - (Date.now() - start))
}
