import { Negotiator } from '@fastify/accept-negotiator'
import type { FastifyReply } from 'fastify'
import LRUMap from 'mnemonist/lru-map'
import type { ServedPage } from '../engine'

const htmlType = 'text/html; charset=utf-8'

type Encoding = 'br' | 'gzip' | 'identity'

// Accept-Encoding values are the client's to choose, so their memo is bounded.
function negotiator (supportedValues: Encoding[]): Negotiator<Encoding> {
  return new Negotiator({ supportedValues, cache: new LRUMap<string, string>(1000) as never })
}

// Preference among equal q-values: the smallest body first.
const negotiators = {
  both: negotiator(['br', 'gzip', 'identity']),
  br: negotiator(['br', 'identity']),
  gzip: negotiator(['gzip', 'identity'])
}

/** Picks the body to send: the best encoding the client accepts among those the page has, else identity. */
export function chooseEncoding (acceptEncoding: string | undefined, hasBr: boolean, hasGzip: boolean): Encoding {
  if (acceptEncoding === undefined || (!hasBr && !hasGzip)) return 'identity'
  const pick = hasBr && hasGzip ? negotiators.both : hasBr ? negotiators.br : negotiators.gzip
  // When nothing is acceptable (identity;q=0 and no known coding) identity is still sent: a page beats a 406.
  return pick.negotiate(acceptEncoding.toLowerCase()) ?? 'identity'
}

/** Each encoding is its own representation, so its strong ETag differs; the shared base marks the same page. */
function etagFor (etag: string, encoding: Encoding): string {
  return encoding === 'identity' ? etag : `${etag.slice(0, -1)}-${encoding}"`
}

/** If-None-Match uses weak comparison; any encoding of the same page matches, since the client can decode it. */
export function matchesIfNoneMatch (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const base = etag.slice(1, -1)
  for (const raw of header.split(',')) {
    const tag = raw.trim().replace(/^W\//, '')
    if (!tag.startsWith('"') || !tag.endsWith('"')) continue
    const opaque = tag.slice(1, -1)
    if (opaque === base || opaque === `${base}-br` || opaque === `${base}-gzip`) return true
  }
  return false
}

/**
 * Writes a page: status and headers (validated in the worker), HTML by default, the cache state, and the body in
 * the negotiated encoding. Pre-compressed bodies carry Content-Encoding, so @fastify/compress leaves them alone.
 */
export function sendPage (reply: FastifyReply, page: ServedPage): FastifyReply {
  const { bodies } = page
  reply.code(page.status)
  for (const name in page.headers) reply.header(name, page.headers[name])
  if (page.headers['content-type'] === undefined) reply.header('content-type', htmlType)
  reply.header('x-ssr-cache', page.cache)
  const compressed = bodies.br !== null || bodies.gzip !== null
  if (compressed) {
    const vary = reply.getHeader('vary')
    reply.header('vary', vary === undefined ? 'Accept-Encoding' : `${String(vary)}, Accept-Encoding`)
  }
  const encoding = chooseEncoding(reply.request.headers['accept-encoding'], bodies.br !== null, bodies.gzip !== null)
  reply.header('etag', etagFor(page.etag, encoding))
  if (page.status === 200 && matchesIfNoneMatch(reply.request.headers['if-none-match'], page.etag)) {
    return reply.code(304).send()
  }
  if (encoding === 'identity') return reply.send(bodies.identity)
  reply.header('content-encoding', encoding)
  return reply.send(encoding === 'br' ? bodies.br : bodies.gzip)
}
