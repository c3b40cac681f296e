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
    // A client that leaves stops waiting; the render is cancelled once no one waits for it. The signal is made only
    // when the engine asks for it (a render that has to wait, a render to join).
    let gone: AbortController | undefined
    const onClose = (): void => { if (!reply.raw.writableFinished) gone?.abort(new Error('client closed the connection')) }
    const waiting: RenderCallOptions = {
      ...call,
      request: reply.request,
      get signal () {
        if (gone === undefined) {
          gone = new AbortController()
          // Asked for after an await (a shared-tier lookup), the client may already be gone: no 'close' is coming.
          if (reply.raw.destroyed || reply.request.raw.destroyed) onClose()
          else reply.raw.once('close', onClose)
        }
        return gone.signal
      }
    }
    engine.fill(found, data, waiting).then((page) => {
      reply.raw.off('close', onClose)
      if (engine.closing) closeConnectionAfter(reply)
      sendPage(reply, page)
    }, (error: unknown) => {
      reply.raw.off('close', onClose)
      if (gone?.signal.aborted === true) return
      if (engine.closing) closeConnectionAfter(reply)
      sendFailure(reply, error, target, shed)
    })
    return reply
  }
}

/** Per-call options as the engine takes them: `vary` names checked (FST_SSR_INVALID_OPTION naming the call). */
export function callFrom (options: SsrRenderOptions | undefined): RenderCallOptions | undefined {
  if (options?.vary === undefined) return options as RenderCallOptions | undefined
  return { ...options, vary: resolveVary('vary', options.vary) }
}
