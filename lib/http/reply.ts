import type { FastifyReply } from 'fastify'
import { Miss, type RenderCallOptions, type ServedPage, type SsrEngine } from '../engine'
import type { RateLimitedLog } from '../limited-log'
import { resolveVary } from '../options'
import { closeConnectionAfter } from './closing'
import { sendFailure } from './failure'
import { sendPage } from './send'

/** Per-call options of `reply.ssr()` and `fastify.ssr.render()`. */
export interface SsrRenderOptions {
  /** `false` renders without reading or writing the page cache. */
  cache?: boolean
  /** Cache key of the route's own, used instead of the URL and data (remove it with `invalidateKey`). */
  key?: string
  /** Milliseconds for this render, queue wait included; overrides the plugin's `renderTimeout`. */
  renderTimeout?: number
  /** Request values this page varies by besides `cache.vary`: header names, `'cookie:<name>'`. */
  vary?: string[]
}

/**
 * `reply.ssr(url, loader | data, options)`: a hit is sent within the call, synchronously, and so is a page rendered
 * at once (`threads: 0`, the cache off, a synchronous bundle and loader); a miss otherwise waits for its render, and
 * a client that leaves stops waiting (the render is cancelled once no one waits for it and it has not started).
 */
export function replySsr (engine: SsrEngine, shed: RateLimitedLog) {
  return function ssr (this: FastifyReply, url?: string, data?: unknown, callOptions?: SsrRenderOptions): FastifyReply {
    const reply = this
    const target = url ?? reply.request.url
    let found
    let call: RenderCallOptions | undefined
    try {
      call = callFrom(callOptions)
      found = engine.lookup(target, data, call, reply.request.headers)
    } catch (error) {
      sendFailure(reply, error, target, shed)
      return reply
    }
    // A hit is sent at once: no promise, no listener.
    if (!(found instanceof Miss)) {
      if (engine.closing) closeConnectionAfter(reply)
      sendPage(reply, found)
      return reply
    }
    const waiting = new ClientWait(reply, call)
    const rendered = (page: ServedPage): void => {
      waiting.done()
      if (engine.closing) closeConnectionAfter(reply)
      sendPage(reply, page)
    }
    const failed = (error: unknown): void => {
      waiting.done()
      if (waiting.clientLeft) return
      if (engine.closing) closeConnectionAfter(reply)
      sendFailure(reply, error, target, shed)
    }
    let filled
    try {
      filled = engine.fill(found, data, waiting)
    } catch (error) {
      failed(error)
      return reply
    }
    // A page rendered at once (threads: 0, cache off, a synchronous bundle) is sent within the call, as a hit is:
    // Fastify then finds the reply sent and does not wait for the response to finish.
    if (filled instanceof Promise) filled.then(rendered, failed)
    else rendered(filled)
    return reply
  }
}

/**
 * A miss's call as the engine takes it: the call's options, the request (for a loader), and a cancel when the client
 * leaves, so it stops waiting; the render is cancelled once no one waits for it. The listener on the response is
 * added only when the engine asks (a render that has to wait, a render to join); the pool listens through `listen`,
 * and an AbortSignal is made only for what needs one (joining a cached render in flight).
 */
class ClientWait implements RenderCallOptions {
  readonly cache: boolean | undefined
  readonly key: string | undefined
  readonly renderTimeout: number | undefined
  readonly vary: RenderCallOptions['vary']
  readonly request: FastifyReply['request']
  readonly #reply: FastifyReply
  #gone: AbortController | undefined
  #onClose: (() => void) | undefined
  /** Why the client is gone, once it is. */
  #left: Error | undefined
  /** Who listens for the client's leaving (listen()), once someone does. */
  #listeners: Array<(reason: unknown) => void> | undefined

  constructor (reply: FastifyReply, call: RenderCallOptions | undefined) {
    this.cache = call?.cache
    this.key = call?.key
    this.renderTimeout = call?.renderTimeout
    this.vary = call?.vary
    this.request = reply.request
    this.#reply = reply
  }

  get signal (): AbortSignal {
    if (this.#gone === undefined) {
      const gone = this.#gone = new AbortController()
      this.#watch()
      if (this.#left !== undefined) gone.abort(this.#left)
    }
    return this.#gone.signal
  }

  listen (cancelled: (reason: unknown) => void): (() => void) | { reason: unknown } {
    this.#watch()
    if (this.#left !== undefined) return { reason: this.#left }
    const listeners = this.#listeners ??= []
    listeners.push(cancelled)
    return () => {
      const at = listeners.indexOf(cancelled)
      if (at !== -1) listeners.splice(at, 1)
    }
  }

  get clientLeft (): boolean {
    return this.#left !== undefined
  }

  /** The engine has answered: the client's leaving no longer matters. */
  done (): void {
    if (this.#onClose !== undefined) this.#reply.raw.off('close', this.#onClose)
  }

  /** Listens, once, for the response closing before it was written. */
  #watch (): void {
    if (this.#onClose !== undefined || this.#left !== undefined) return
    const raw = this.#reply.raw
    const onClose = (): void => {
      if (raw.writableFinished || this.#left !== undefined) return
      const reason = this.#left = new Error('client closed the connection')
      this.#gone?.abort(reason)
      for (const cancelled of this.#listeners?.splice(0) ?? []) cancelled(reason)
    }
    // Asked for after an await (a shared-tier lookup), the client may already be gone: no 'close' is coming.
    if (raw.destroyed || this.#reply.request.raw.destroyed) onClose()
    else raw.once('close', this.#onClose = onClose)
  }
}

/** Per-call options as the engine takes them: `vary` names checked (FST_SSR_INVALID_OPTION naming the call). */
export function callFrom (options: SsrRenderOptions | undefined): RenderCallOptions | undefined {
  if (options?.vary === undefined) return options as RenderCallOptions | undefined
  return { ...options, vary: resolveVary('vary', options.vary) }
}
