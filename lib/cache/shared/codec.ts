import { compactForCold, withBytes, type Bodies, type CacheEntry } from '../entry'
import type { PageHeaders } from '../../page'

/**
 * A page as it is stored in Redis: a small JSON header (full key, URL, status, headers, ETag, body sizes) followed by
 * the bodies, in one binary value.
 *
 * What is stored is the cold tier's compact form (see compactForCold): br and gzip, and the identity bytes only when
 * the page has no br body. HTML is 5 to 10 times larger than both encodings together, and every byte in Redis is
 * paid twice, in Redis memory and on the network at each read by every instance. The identity bytes are rebuilt
 * from br once per instance when the page enters its hot tier (0.03 ms for 20 KB). gzip is kept rather than rebuilt
 * because rebuilding it would mean compressing on the main thread, which never happens.
 */

/** Leads every value; a change of layout changes it, and a value with another magic is a miss, never a misread. */
const magic = Buffer.from('SSR2')

interface Header {
  key: string
  url: string
  status: number
  headers: PageHeaders
  etag: string
  /** Render time, ms since the epoch: Age and Last-Modified on every instance. */
  renderedAt: number
  /** Seconds the page may be kept in a local tier (0: until evicted); the reader's copy lives no longer. */
  ttl: number
  /** Byte lengths of identity, br and gzip; -1 for an absent body. */
  sizes: [number, number, number]
}

/** A decoded page: an entry without its expiry, which the reader derives from Redis' own TTL, and its TTL. */
export type SharedPage = Omit<CacheEntry, 'expiresAt' | 'bytes'> & { ttl: number }

export function encodePage (page: SharedPage): Buffer {
  const compact = compactForCold(withBytes({ ...page, expiresAt: Infinity }))
  const bodies = [compact.bodies.identity, compact.bodies.br, compact.bodies.gzip]
  const header: Header = {
    key: page.key,
    url: page.url,
    status: page.status,
    headers: page.headers,
    etag: page.etag,
    renderedAt: page.renderedAt,
    ttl: page.ttl,
    sizes: bodies.map((body) => body?.byteLength ?? -1) as Header['sizes']
  }
  const json = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(json.byteLength)
  return Buffer.concat([magic, length, json, ...bodies.filter((body): body is Buffer => body !== null)])
}

/**
 * The page in `value` if it is a well-formed page stored under exactly `key`; null otherwise. The Redis name is a
 * hash of the key, so comparing the full key here is what keeps lookups exact.
 */
export function decodePage (value: Buffer, key: string): SharedPage | null {
  if (value.byteLength < 8 || !value.subarray(0, 4).equals(magic)) return null
  const headerEnd = 8 + value.readUInt32BE(4)
  if (headerEnd > value.byteLength) return null
  let header: Header
  try {
    header = JSON.parse(value.subarray(8, headerEnd).toString('utf8'))
  } catch {
    return null
  }
  if (header === null || typeof header !== 'object' || header.key !== key || !Array.isArray(header.sizes) || typeof header.renderedAt !== 'number' || typeof header.ttl !== 'number') return null
  let offset = headerEnd
  const bodies: Array<Buffer | null> = []
  for (const size of header.sizes) {
    if (size === -1) {
      bodies.push(null)
      continue
    }
    if (!Number.isInteger(size) || size < 0 || offset + size > value.byteLength) return null
    bodies.push(value.subarray(offset, offset + size))
    offset += size
  }
  if (offset !== value.byteLength || bodies.length !== 3 || (bodies[0] === null && bodies[1] === null)) return null
  const [identity, br, gzip] = bodies
  const pageBodies: Bodies = { identity, br, gzip }
  return { key: header.key, url: header.url, status: header.status, headers: header.headers, etag: header.etag, renderedAt: header.renderedAt, ttl: header.ttl, bodies: pageBodies }
}
