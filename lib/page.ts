/**
 * A page: what a render produced and what the cache keeps and sends. One shape from the worker's answer to the
 * socket; the cold tier's compact form and the shared tier's encoding are views of it (cache/entry.ts, codec.ts).
 */

/**
 * A hold on bytes that someone else will write over once it is released: a page sent once, whose bytes a worker
 * wrote into memory it shares with the main thread (render/body-ring.ts).
 */
export interface BodyLease {
  /** Frees the bytes; only the first call counts. */
  release (): void
}

/** Response headers, lower-case names, validated in the worker (render/result.ts). */
export type PageHeaders = Record<string, string | string[]>

/** A page's bodies: the HTML, and brotli and gzip versions when it was compressed. */
export interface Bodies<Identity extends Buffer | string = Buffer> {
  identity: Identity
  br: Buffer | null
  gzip: Buffer | null
}

/**
 * `Identity` is Buffer for every page that may be stored (its UTF-8 bytes, sent as they are on every hit); a page
 * rendered for one response and never stored (cache off) keeps the HTML as the string the render returned, which
 * crosses threads as one copy and is written to the socket as it is.
 */
export interface Page<Identity extends Buffer | string = Buffer> {
  status: number
  headers: PageHeaders
  bodies: Bodies<Identity>
  /**
   * Strong ETag of the UTF-8 bytes of the HTML. A page sent once and never stored has none: it goes out with
   * `no-store`, so no client would ever revalidate it, and hashing it would be work for nothing.
   */
  etag: Identity extends Buffer ? string : null
  /**
   * A page sent once whose bytes a worker wrote into its ring (render/body-ring.ts): the hold on them, released by
   * whoever sends or drops the page (http/send.ts). Absent for every other page.
   */
  lease?: BodyLease
}

/** Where a response came from, as sent in `x-ssr-cache`. STALE: a page past its TTL, within a stale window. */
export type CacheState = 'HIT-HOT' | 'HIT-COLD' | 'HIT-SHARED' | 'STALE' | 'MISS' | 'BYPASS'

/** A page on its way to a client: a Page (Buffer bodies, or text when rendered with the cache off), and whence. */
export interface ServedPage {
  status: number
  headers: PageHeaders
  bodies: Bodies<Buffer | string>
  /** Null for pages rendered with the cache off (see Page.etag). */
  etag: string | null
  cache: CacheState
  /** Seconds since it was rendered, for a page served from a cache tier (the Age header); else undefined. */
  age?: number
  /** See Page.lease. */
  lease?: BodyLease
  /** When it was rendered (ms since the epoch), for a stored page. */
  renderedAt?: number
}
