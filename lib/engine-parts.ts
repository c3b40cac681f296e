import type { Found } from './cache/tiers'
import type { VaryName } from './cache/vary'
import type { EngineLogger } from './engine-log'
import type { LatencyHistogram } from './metrics/histogram'
import type { PageRenderer } from './page-maker'
import type { PoolStats } from './render/pool'

/** What the engine is built from (EngineParts) and called with (RenderCallOptions); what a lookup leaves (Miss). */

export interface RenderCallOptions {
  /** `false` renders without reading or writing the cache. */
  cache?: boolean
  /** A cache key of the route's own, used instead of the URL and data. */
  key?: string
  /** Milliseconds for this render, queue wait included; overrides the plugin's `renderTimeout`. */
  renderTimeout?: number
  /** Request values this page varies by, besides `cache.vary` (validated names). */
  vary?: readonly VaryName[]
  /** What a data loader is called with: the Fastify request, for `reply.ssr`. */
  request?: unknown
  /**
   * Aborted when the client went away: the caller stops waiting at once. The render itself is dropped only if no one
   * else waits for it and it has not started; a running one finishes (and is stored if cacheable).
   */
  signal?: AbortSignal
  /**
   * The caller wants the HTML as a string (`fastify.ssr.render`): an uncached page then comes from its worker as
   * text. Unset (`reply.ssr`), it comes as bytes, which go to the socket without being encoded again.
   */
  text?: boolean
}

/** What the engine needs of the bundle side (bundle/host.ts); tests give it a fake one. */
export interface BundleSide {
  readonly current: { path: string, version: string, loadedAt: Date }
  readonly reloads: { succeeded: number, failed: number }
  poolStats (): PoolStats
  reload (path?: string): Promise<{ path: string, version: string, loadedAt: Date }>
  onSwitch (listener: (previous: { version: string }, next: { version: string }) => void): void
  beginClose (): void
  /** Stops every render in every pool (the close timeout). */
  abort (reason: unknown): void
  close (): Promise<void>
}

export interface EngineParts {
  renderer: PageRenderer
  bundles: BundleSide
  log: EngineLogger
  /** The cache's clock: TTLs, stale windows, Age. Render deadlines always use real time (workers compare them). */
  now?: () => number
  /** Time a worker spent rendering, and time a render waited for a worker. */
  latency?: { render: LatencyHistogram, queueWait: LatencyHistogram }
}

/** What lookup() could not answer: the normalized URL, the key (null: uncached), a page in reserve, what it varies by. */
export class Miss {
  constructor (readonly url: string, readonly key: string | null, readonly reserve: Found | undefined, readonly vary: readonly VaryName[]) {}
}
