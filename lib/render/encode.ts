import { sha256 } from '../digest'
import { brotliCompressSync, brotliDecompressSync, constants, gzipSync } from 'node:zlib'

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

/**
 * A Buffer that owns its whole ArrayBuffer, so it can be transferred to another thread. Small Buffers made by
 * Buffer.from or zlib may be slices of a shared pool; transferring one would detach the pool under other users.
 */
export function ownedBuffer (source: Buffer): Buffer {
  if (source.byteOffset === 0 && source.buffer.byteLength === source.byteLength) return source
  const copy = Buffer.allocUnsafeSlow(source.byteLength)
  source.copy(copy)
  return copy
}

export function etagOf (identity: Buffer): string {
  return `"${sha256(identity).slice(0, 27)}"`
}

/** Encodes a rendered page once: identity bytes, brotli and gzip when asked and worth it, and its ETag. */
export function encodeBodies (html: string, settings: CompressionSettings | null): EncodedBodies {
  const identity = Buffer.allocUnsafeSlow(Buffer.byteLength(html))
  identity.write(html)
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

/** Rebuilds identity bytes from the brotli body (a cold entry being promoted). */
export function decodeBrotli (br: Buffer): Buffer {
  return brotliDecompressSync(br)
}
