/**
 * A page: what a render produced and what the cache keeps and sends. One shape from the worker's answer to the
 * socket; the cold tier's compact form and the shared tier's encoding are views of it (cache/entry.ts, codec.ts).
 */

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
}
