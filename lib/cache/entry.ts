import { brotliDecompressSync } from 'node:zlib'
import { ownedBuffer } from '../bytes'
import type { CacheState, PageHeaders, ServedPage } from '../page'

/** A page's bodies in the main thread. Identity is null only in the cold tier's compact form (see compactForCold). */
export interface Bodies {
  identity: Buffer | null
  br: Buffer | null
  gzip: Buffer | null
}

/** A stored page: everything needed to answer without rendering. */
export interface CacheEntry {
  key: string
  /** The normalized URL the page was rendered for; prefix invalidation matches it. */
  url: string
  status: number
  headers: PageHeaders
  bodies: Bodies
  etag: string
  /** Milliseconds since the epoch; Infinity never expires. Fixed at render time, never extended. */
  expiresAt: number
  /** When it was rendered (ms since the epoch, the cache's clock): its Age and Last-Modified. */
  renderedAt: number
  /** Every byte the entry holds (key, URL, headers, every body), counted when the entry is made. */
  bytes: number
}

/**
 * What an entry costs besides its strings and bodies: the entry, bodies and headers objects, three Buffer views and
 * its slots in the LRU. An estimate, so that a great many tiny pages cannot hold more memory than the byte bound says.
 */
export const entryOverheadBytes = 512

/**
 * Every byte an entry holds. Bodies are counted by their length: each owns its memory (the worker allocates them
 * whole, see encode.ts; the cold tier's decompression makes a Buffer of its own).
 */
export function entryBytes (entry: Omit<CacheEntry, 'bytes'>): number {
  let bytes = entryOverheadBytes + Buffer.byteLength(entry.key) + Buffer.byteLength(entry.url) + entry.etag.length
  for (const body of [entry.bodies.identity, entry.bodies.br, entry.bodies.gzip]) bytes += body?.byteLength ?? 0
  for (const [name, value] of Object.entries(entry.headers)) {
    bytes += name.length + (Array.isArray(value) ? value.reduce((sum, item) => sum + Buffer.byteLength(item), 0) : Buffer.byteLength(value))
  }
  return bytes
}

export function withBytes (entry: Omit<CacheEntry, 'bytes'>): CacheEntry {
  return { ...entry, bytes: entryBytes(entry) }
}

/**
 * The cold tier keeps a page compressed only: br and gzip, the encodings nearly every client asks for, and not the
 * identity bytes, which for HTML are 5 to 10 times larger than both together. The cold tier so holds several times
 * more pages in the same byte budget. The price is paid on promotion, once per cold hit: brotli decompression of a
 * 20 KB page measured 0.03 ms here, against 0.1 ms to compress it, which the main thread never does. Pages stored
 * without compressed bodies keep their identity bytes.
 */
export function compactForCold (entry: CacheEntry): CacheEntry {
  if (entry.bodies.br === null || entry.bodies.identity === null) return entry
  return withBytes({ ...entry, bodies: { ...entry.bodies, identity: null } })
}

/** Makes a page ready to send again: the hot tier always holds identity bytes. */
export function expandForHot (entry: CacheEntry): CacheEntry {
  if (entry.bodies.identity !== null || entry.bodies.br === null) return entry
  // zlib returns small outputs as views of a 16 KiB chunk: a Buffer of its own keeps the count true.
  return withBytes({ ...entry, bodies: { ...entry.bodies, identity: ownedBuffer(brotliDecompressSync(entry.bodies.br)) } })
}

/** A stored page on its way out, with its Age (whole seconds since its render, on the cache's clock: RFC 9111 §5.1). */
export function servedFrom (entry: CacheEntry, cache: CacheState, now: number): ServedPage {
  const { status, headers, bodies, etag, renderedAt } = entry
  // The hot tier, which every lookup serves from, always holds identity bytes (see expandForHot).
  return { status, headers, bodies: bodies as ServedPage['bodies'], etag, cache, renderedAt, age: ageOf(renderedAt, now) }
}

export function ageOf (renderedAt: number, now: number): number {
  return Math.max(0, Math.floor((now - renderedAt) / 1000))
}
