import type { FastifyReply } from 'fastify'
import { Miss, type RenderCallOptions, type SsrEngine } from '../engine'
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
 * `reply.ssr(url, loader | data, options)`: a hit is sent within the call, synchronously; a miss waits for its
 * render, and a client that leaves stops waiting (the render is cancelled once no one waits for it and it has not
 * started).
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
    engine.fill(found, data, waiting).then((page) => {
      waiting.done()
      if (engine.closing) closeConnectionAfter(reply)
      sendPage(reply, page)
    }, (error: unknown) => {
      waiting.done()
      if (waiting.clientLeft) return
      if (engine.closing) closeConnectionAfter(reply)
      sendFailure(reply, error, target, shed)
    })
    return reply
  }
}

/**
 * A miss's call as the engine takes it: the call's options, the request (for a loader), and a signal aborted when
 * the client leaves, so it stops waiting; the render is cancelled once no one waits for it. The signal, and the
 * listener on the response, are made only when the engine asks (a render that has to wait, a render to join).
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
      const raw = this.#reply.raw
      const onClose = (): void => { if (!raw.writableFinished) gone.abort(new Error('client closed the connection')) }
      // Asked for after an await (a shared-tier lookup), the client may already be gone: no 'close' is coming.
      if (raw.destroyed || this.#reply.request.raw.destroyed) onClose()
      else raw.once('close', this.#onClose = onClose)
    }
    return this.#gone.signal
  }

  get clientLeft (): boolean {
    return this.#gone?.signal.aborted === true
  }

  /** The engine has answered: the client's leaving no longer matters. */
  done (): void {
    if (this.#onClose !== undefined) this.#reply.raw.off('close', this.#onClose)
  }
}

/** Per-call options as the engine takes them: `vary` names checked (FST_SSR_INVALID_OPTION naming the call). */
export function callFrom (options: SsrRenderOptions | undefined): RenderCallOptions | undefined {
  if (options?.vary === undefined) return options as RenderCallOptions | undefined
  return { ...options, vary: resolveVary('vary', options.vary) }
}
