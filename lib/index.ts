import type { Server } from 'node:http'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { BundleInfo, SsrEngine } from './engine'
import { startEngine } from './start'
import type { SharedInvalidationEvent } from './cache/shared/invalidations'
import * as errors from './errors'
import { normalizeOptions, type SsrOptions } from './options'
import { ConnectionDrain } from './http/drain'
import { RateLimitedLog } from './limited-log'
import { channelNames as tracingChannels } from './tracing'
import { registerMetrics, registerPurgeRoute } from './http/routes'
import { callFrom, replySsr, type SsrRenderOptions } from './http/reply'
import type { PageHeaders } from './page'

export type { SsrOptions, SsrCacheOptions, SsrSharedCacheOptions, SsrCompressionOptions, SsrMetricsOptions, SsrPurgeOptions, SsrAuth } from './options'
export type { SharedInvalidationEvent as SsrSharedInvalidation } from './cache/shared/invalidations'
/** What `fastify.ssr.metrics()` returns. */
export type SsrMetrics = ReturnType<SsrEngine['snapshot']>
/** The bundle serving, as `fastify.ssr.reload()` resolves it: path, content hash, load time (ISO 8601). */
export type SsrBundleInfo = BundleInfo
export { errors }
/** Names of the diagnostics_channel TracingChannels the plugin publishes on (see the README's "Tracing"). */
export { channelNames as tracingChannels } from './tracing'
export type { LookupContext as SsrLookupTrace, QueueContext as SsrQueueTrace, RenderContext as SsrRenderTrace, StoreContext as SsrStoreTrace } from './tracing'

export type { SsrRenderOptions } from './http/reply'

/** A rendered page, as `fastify.ssr.render()` returns it. */
export interface SsrRenderResult {
  html: string
  status: number
  headers: PageHeaders
  /** Where the page came from: `HIT-HOT`, `HIT-COLD`, `HIT-SHARED`, `STALE`, `MISS` or `BYPASS`. */
  cache: string
}

/** `fastify.ssr`: render, invalidate and clear from code. */
export interface SsrNamespace {
  /**
   * Renders (or serves from the cache) the page for `url` and `data`. `data` may be a loader, called (with no
   * request) only when a render is needed. Rejects with a coded `FST_SSR_*` error.
   */
  render (url: string, loader: () => unknown, options?: SsrRenderOptions): Promise<SsrRenderResult>
  render (url: string, data?: unknown, options?: SsrRenderOptions): Promise<SsrRenderResult>
  /** Removes the cached page for `url` and `data`; true if there was one. */
  invalidate (url: string, data?: unknown): boolean
  /** Removes the cached page stored under a route-supplied `key`. */
  invalidateKey (key: string): boolean
  /** Removes every cached page whose normalized URL starts with `prefix`; returns how many. */
  invalidatePrefix (prefix: string): number
  /** Empties both cache tiers; returns how many pages were removed. Counters are kept. */
  clear (): number
  /**
   * Loads the bundle (the same path, or `path`) into fresh workers, checks it, then switches to it without dropping a
   * request; the old bundle's cached pages are dropped. Renders already started finish on the old bundle; resolves
   * once they have and its workers are stopped. Rejects with `FST_SSR_BUNDLE_LOAD` (the old bundle keeps serving) or
   * `FST_SSR_CLOSING`. Reloads run one at a time.
   */
  reload (path?: string): Promise<SsrBundleInfo>
  /** Content hash of the bundle serving now; part of every cache key. */
  readonly version: string
  /** A snapshot of the cache, render and pool counters. */
  metrics (): SsrMetrics
  /** The address of the metrics listener (`metrics.port`) once `ready()` has opened it; null without one. */
  readonly metricsUrl: string | null
  /** The shared Redis tier's state and events, or null without `cache.shared`. */
  readonly shared: SsrSharedTier | null
}

/** `fastify.ssr.shared`: whether this instance is in touch with Redis, and what reaches it from other instances. */
export interface SsrSharedTier {
  /** Both Redis connections ready, subscribed, and the local tiers checked against missed invalidations. */
  readonly connected: boolean
  /** 'up' / 'down': `connected` changed. 'resync': local tiers cleared after invalidations may have been missed. */
  on (event: 'up' | 'down' | 'resync', listener: () => void): this
  /** An invalidation (this instance's own included) was applied to the local tiers, after Redis executed it. */
  on (event: 'invalidation', listener: (event: SharedInvalidationEvent) => void): this
  once (event: 'up' | 'down' | 'resync', listener: () => void): this
  once (event: 'invalidation', listener: (event: SharedInvalidationEvent) => void): this
  off (event: 'up' | 'down' | 'resync' | 'invalidation', listener: (...args: any[]) => void): this
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Renders `url` (default: the request's URL) in the worker pool, or serves it from the cache, and sends it.
     * `loader(request)` (sync or async) gives the page's data and runs only when a render is needed: a cache hit
     * never calls it. Returns the reply, so `return reply.ssr(...)` works in async handlers.
     */
    ssr (url: string | undefined, loader: (request: FastifyRequest) => unknown, options?: SsrRenderOptions): FastifyReply
    /** As above with the data itself; it is part of the cache key (see the README's "The page cache"). */
    ssr (url?: string, data?: unknown, options?: SsrRenderOptions): FastifyReply
  }
  interface FastifyInstance {
    ssr: SsrNamespace
  }
}

async function plugin (fastify: FastifyInstance, rawOptions: SsrOptions): Promise<void> {
  const options = normalizeOptions(rawOptions)
  const engine = await startEngine(options, fastify.log)
  // Shed requests (503, 504) are logged at most once per code every 10 s, with a count of the others.
  const shed = new RateLimitedLog()

  const namespace: SsrNamespace = {
    async render (url: string, data?: unknown, callOptions?: SsrRenderOptions) {
      // The HTML is answered as a string: an uncached page may as well cross from its worker as one.
      const page = await engine.serve(url, data, { ...callFrom(callOptions), text: true })
      const { identity } = page.bodies
      return { html: typeof identity === 'string' ? identity : identity.toString('utf8'), status: page.status, headers: page.headers, cache: page.cache }
    },
    invalidate: (url, data) => engine.invalidate(url, data),
    invalidateKey: (key) => engine.invalidateKey(key),
    invalidatePrefix: (prefix) => engine.invalidatePrefix(prefix),
    clear: () => engine.clear(),
    reload: async (path) => await engine.reload(path),
    get version () { return engine.version },
    shared: engine.shared,
    metrics: () => engine.snapshot(),
    get metricsUrl () { return engine.metricsUrl }
  }
  fastify.decorate('ssr', namespace)

  fastify.decorateReply('ssr', replySsr(engine, shed))

  if (options.metrics !== null) registerMetrics(fastify, engine, options.metrics)
  if (options.purge !== null) registerPurgeRoute(fastify, engine, options.purge)

  // Created now, so it sees every connection the server accepts (an HTTP/2 server has none of these).
  const drain = 'closeIdleConnections' in fastify.server ? new ConnectionDrain(fastify.server as Server) : null
  fastify.addHook('preClose', async () => {
    engine.beginClose()
    await drain?.drain()
  })
  fastify.addHook('onClose', async () => {
    await engine.close()
    shed.flush(fastify.log)
  })
}

/** The plugin: `fastify.register(ssrPlugin, { bundle })`. */
const ssrPlugin: FastifyPluginAsync<SsrOptions> = fp(plugin, { fastify: '5.x', name: 'fastify-ssr-engine' })

export default ssrPlugin
export { ssrPlugin }

// `require('fastify-ssr-engine')` returns the plugin itself, with the named exports on it, as Fastify plugins do.
module.exports = Object.assign(ssrPlugin, { default: ssrPlugin, ssrPlugin, errors, tracingChannels })
