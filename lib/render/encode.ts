import { ownedBuffer } from '../bytes'
import { sha256 } from '../digest'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

export { ownedBuffer } from '../bytes'

/** How the worker compresses a page it renders. */
export interface CompressionSettings {
  brotliQuality: number
  gzipLevel: number
  /** Bodies smaller than this many bytes are not compressed: the saving would not pay for the header. */
  threshold: number
}

/** A page's bodies, one per encoding, and the strong ETag of its identity bytes. */
export interface EncodedBodies {
  identity: Buffer
  br: Buffer | null
  gzip: Buffer | null
  etag: string
}

export function etagOf (identity: Buffer): string {
  return `"${sha256(identity).slice(0, 27)}"`
}

/**
 * The UTF-8 bytes of `html` in memory of their own (never a slice of Buffer's shared pool), so that they can be
 * transferred to another thread.
 */
export function utf8Bytes (html: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(html))
  bytes.write(html)
  return bytes
}

/** Encodes a rendered page once: identity bytes, brotli and gzip when asked and worth it, and its ETag. */
export function encodeBodies (html: string, settings: CompressionSettings | null): EncodedBodies {
  const identity = utf8Bytes(html)
  const etag = etagOf(identity)
  if (settings === null || identity.byteLength < settings.threshold) return { identity, br: null, gzip: null, etag }
  const br = brotliCompressSync(identity, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: settings.brotliQuality,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: identity.byteLength
    }
  })
  const gzip = gzipSync(identity, { level: settings.gzipLevel })
  return { identity, br: ownedBuffer(br), gzip: ownedBuffer(gzip), etag }
}
