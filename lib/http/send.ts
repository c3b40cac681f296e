import { Negotiator } from '@fastify/accept-negotiator'
import type { FastifyReply } from 'fastify'
import LRUMap from 'mnemonist/lru-map'
import type { Bodies, PageHeaders, ServedPage } from '../page'
import { canWriteDirectly, writeDirectly } from './direct'
import { HeaderBlock } from './header-block'
import { sendLeased } from './leased'

const htmlType = 'text/html; charset=utf-8'

type Encoding = 'br' | 'gzip' | 'identity'

// Accept-Encoding values are the client's to choose, so every memo of them is bounded.
function negotiator (supportedValues: Encoding[]): Negotiator<Encoding> {
  return new Negotiator({ supportedValues, cache: new LRUMap<string, string>(1000) as never })
}

// Preference among equal q-values: the smallest body first.
const negotiators = {
  both: negotiator(['br', 'gzip', 'identity']),
  br: negotiator(['br', 'identity']),
  gzip: negotiator(['gzip', 'identity'])
}

/**
 * What a header says of br and gzip: refused by name with q=0 (`br;q=0`), which a `*` in the same header must not
 * undo; and whether it accepts some coding other than identity at all. The negotiator does the rest.
 */
interface Stance {
  refusesBr: boolean
  refusesGzip: boolean
  acceptsCoding: boolean
}

const stances = new LRUMap<string, Stance>(1000)
const refusal = /^\s*([a-z*]+)\s*;\s*q\s*=\s*0(?:\.0{0,3})?\s*$/

function stanceOf (acceptEncoding: string): Stance {
  let stance = stances.get(acceptEncoding)
  if (stance !== undefined) return stance
  stance = { refusesBr: false, refusesGzip: false, acceptsCoding: false }
  for (const part of acceptEncoding.split(',')) {
    const refused = refusal.exec(part)?.[1]
    if (refused === 'br') stance.refusesBr = true
    else if (refused === 'gzip') stance.refusesGzip = true
    else if (refused === undefined && !/^\s*(identity)?\s*(;|$)/.test(part)) stance.acceptsCoding = true
  }
  stances.set(acceptEncoding, stance)
  return stance
}

/** Picks the body to send: the best encoding the client accepts among those the page has, else identity. */
export function chooseEncoding (acceptEncoding: string | undefined, hasBr: boolean, hasGzip: boolean): Encoding {
  if (acceptEncoding === undefined || acceptEncoding === '' || (!hasBr && !hasGzip)) return 'identity'
  const header = acceptEncoding.toLowerCase()
  const stance = stanceOf(header)
  const br = hasBr && !stance.refusesBr
  const gzip = hasGzip && !stance.refusesGzip
  if (!br && !gzip) return 'identity'
  const pick = br && gzip ? negotiators.both : br ? negotiators.br : negotiators.gzip
  // When nothing is acceptable (identity;q=0 and no known coding) identity is still sent: a page beats a 406.
  return pick.negotiate(header) ?? 'identity'
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
 * Whether the client's copy is current: If-None-Match against the ETag; or, only when no If-None-Match was sent
 * (RFC 9110 §13.1.3), If-Modified-Since against Last-Modified (the render time, in whole seconds).
 */
function notModified (headers: FastifyReply['request']['headers'], page: ServedPage): boolean {
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) return page.etag !== null && matchesIfNoneMatch(ifNoneMatch, page.etag)
  const ifModifiedSince = headers['if-modified-since']
  const lastModified = page.headers['last-modified']
  if (ifModifiedSince === undefined || lastModified === undefined) return false
  const since = Date.parse(ifModifiedSince)
  return Number.isFinite(since) && Date.parse(String(lastModified)) <= since
}

/** The headers RFC 9110 §15.4.5 lets a 304 carry, of those a page may have; no other representation metadata. */
const notModifiedHeaders = ['cache-control', 'expires', 'content-location', 'vary']

/** Everything about one encoding of a page that does not change between requests. */
interface Prepared {
  /** The page's headers and those this encoding adds, as name, value pairs, in the order they are sent. */
  pairs: Array<string | string[]>
  /** `pairs` as an object, for reply.headers(): made the first time that path needs it (see headersOf). */
  headers?: PageHeaders
  body: Buffer | string
  /** `pairs` and Content-Length, checked once when kept for every hit of a stored page, for a direct write. */
  block: HeaderBlock
  /** The headers of a 304 for this encoding, made when one is first sent (most pages are never revalidated). */
  notModified?: NotModified
}

interface NotModified {
  headers: PageHeaders
  /** `headers` as `block` is. */
  block: HeaderBlock
}

/**
 * Header sets per stored page and encoding, made on the first hit that needs them and kept as long as the page's
 * bodies live (an entry promoted from the cold tier gets new bodies, and so new sets).
 */
const preparedByBodies = new WeakMap<object, Partial<Record<Encoding | 'weak', Prepared>>>()

/**
 * The page's own headers in their order, with Vary and ETag completed where the page has them, then those it lacks:
 * Content-Type (HTML), Vary, ETag, Content-Encoding. Built as a list, not an object: for a page sent once, the
 * object would be made (with no prototype, so a dictionary) only to be walked once.
 */
function pairsFor (page: ServedPage, encoding: Encoding, weak: boolean): Array<string | string[]> {
  const compressed = page.bodies.br !== null || page.bodies.gzip !== null
  // Identity sent to a client that accepts some coding this page has no body for: @fastify/compress, or a proxy,
  // may still encode it, and one strong tag must not name two representations (RFC 9110 §8.8.1).
  const etag = page.etag === null ? undefined : weak ? `W/${page.etag}` : etagFor(page.etag, encoding)
  const pairs: Array<string | string[]> = []
  let typed = false
  let varied = false
  let tagged = false
  const own = page.headers
  for (const name in own) {
    let value = own[name]
    if (name === 'content-type') {
      typed = true
    } else if (name === 'vary' && compressed) {
      varied = true
      value = `${String(value)}, accept-encoding`
    } else if (name === 'etag' && etag !== undefined) {
      tagged = true
      value = etag
    }
    pairs.push(name, value)
  }
  if (!typed) pairs.push('content-type', htmlType)
  // Lower case, as @fastify/compress writes and checks it: it then adds no second one.
  if (compressed && !varied) pairs.push('vary', 'accept-encoding')
  if (etag !== undefined && !tagged) pairs.push('etag', etag)
  if (encoding !== 'identity') pairs.push('content-encoding', encoding)
  return pairs
}

function prepare (page: ServedPage, encoding: Encoding, weak: boolean, kept: boolean): Prepared {
  const { bodies } = page
  const pairs = pairsFor(page, encoding, weak)
  const body = (encoding === 'br' ? bodies.br : encoding === 'gzip' ? bodies.gzip : bodies.identity) as Buffer | string
  return { pairs, body, block: new HeaderBlock(pairs, Buffer.byteLength(body), kept) }
}

function headersOf (prepared: Prepared): PageHeaders {
  if (prepared.headers !== undefined) return prepared.headers
  const headers: PageHeaders = Object.create(null)
  const { pairs } = prepared
  for (let i = 0; i < pairs.length; i += 2) headers[pairs[i] as string] = pairs[i + 1]
  prepared.headers = headers
  return headers
}

function notModifiedOf (prepared: Prepared): NotModified {
  if (prepared.notModified !== undefined) return prepared.notModified
  const headers = headersOf(prepared)
  const pairs: Array<string | string[]> = []
  if (headers.etag !== undefined) pairs.push('etag', headers.etag)
  for (const name of notModifiedHeaders) if (headers[name] !== undefined) pairs.push(name, headers[name])
  const notModified: PageHeaders = Object.create(null)
  for (let i = 0; i < pairs.length; i += 2) notModified[pairs[i] as string] = pairs[i + 1]
  prepared.notModified = { headers: notModified, block: new HeaderBlock(pairs, null, prepared.block.kept) }
  return prepared.notModified
}

function preparedFor (page: ServedPage, encoding: Encoding, weak: boolean): Prepared {
  // Pages rendered for this response alone are prepared once and not kept.
  if (page.cache === 'BYPASS' || page.cache === 'MISS') return prepare(page, encoding, weak, false)
  const bodies: Bodies<Buffer | string> = page.bodies
  let sets = preparedByBodies.get(bodies)
  if (sets === undefined) {
    sets = {}
    preparedByBodies.set(bodies, sets)
  }
  const slot = weak ? 'weak' : encoding
  return (sets[slot] ??= prepare(page, encoding, weak, true))
}

/**
 * Writes a page: status and headers (validated in the worker), HTML by default, the cache state, and the body in
 * the negotiated encoding. Pre-compressed bodies carry Content-Encoding, so @fastify/compress leaves them alone.
 */
export function sendPage (reply: FastifyReply, page: ServedPage): FastifyReply {
  return page.lease === undefined ? writePage(reply, page) : sendLeased(reply, page, page.lease, writePage)
}

function writePage (reply: FastifyReply, page: ServedPage): FastifyReply {
  const { bodies } = page
  const acceptEncoding = reply.request.headers['accept-encoding']
  const encoding = chooseEncoding(acceptEncoding, bodies.br !== null, bodies.gzip !== null)
  const weak = encoding === 'identity' && acceptEncoding !== undefined && acceptEncoding !== '' && stanceOf(acceptEncoding.toLowerCase()).acceptsCoding
  const prepared = preparedFor(page, encoding, weak)
  const unchanged = page.status === 200 && notModified(reply.request.headers, page)
  if (canWriteDirectly(reply)) return sendDirectly(reply, page, prepared, unchanged)
  // From a cache tier: how old the page is (RFC 9111 §5.1).
  if (page.age !== undefined) reply.header('age', String(page.age))
  if (unchanged) {
    // x-ssr-cache describes the response, not the representation: it stays, as Date does.
    return reply.code(304).headers(notModifiedOf(prepared).headers).header('x-ssr-cache', page.cache).send()
  }
  if (page.status !== 200) reply.code(page.status)
  return reply.headers(headersOf(prepared)).header('x-ssr-cache', page.cache).send(prepared.body)
}

/**
 * What reply.send() would write, written at once when nothing of Fastify's would change it (see canWriteDirectly):
 * the same status, headers and body, without the header-by-header copy and the payload checks of Fastify's send
 * path. A status set with `reply.code()` before is kept for a 200 page, as reply.send() keeps it.
 */
function sendDirectly (reply: FastifyReply, page: ServedPage, prepared: Prepared, unchanged: boolean): FastifyReply {
  if (unchanged) writeDirectly(reply, 304, notModifiedOf(prepared).block, page.cache, page.age, null)
  else writeDirectly(reply, page.status === 200 ? reply.raw.statusCode : page.status, prepared.block, page.cache, page.age, prepared.body)
  return reply
}
