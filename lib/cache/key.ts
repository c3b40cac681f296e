import { sha256 } from '../digest'
import { FST_SSR_BAD_URL, FST_SSR_INVALID_DATA } from '../errors'
import { isImmutableNode } from '../immutable'

/**
 * The one place cache keys are made. A key holds everything that decides a page: the bundle version, the URL as
 * the render will see it, and the data in canonical form. Lookups compare whole keys. Within the data, a part whose
 * canonical form is longer than `digestAbove` characters is represented by the SHA-256 of that form instead, so a
 * key stays short to build, hash and compare whatever the data's size; two different inputs could share a key only
 * through a SHA-256 collision.
 */

/** Canonical forms longer than this many characters enter the key as their SHA-256. */
export const digestAbove = 1024

const hexDigit = /^[0-9A-Fa-f]$/
const unreserved = /^[A-Za-z0-9\-._~]$/
// A path in canonical form already: segments of path characters, none empty, none starting with a dot (so no dot
// segments). Most request targets are one of these and are returned as they are.
const canonicalPath = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,;=:@][A-Za-z0-9\-._~!$&'()*+,;=:@]*)*\/?$/
// Characters kept as they are in a path; anything else is percent-encoded (UTF-8), as a browser would send it.
const pathCharacter = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/

/**
 * The path in canonical form: escapes of unreserved characters decoded, other escapes upper-cased, characters a
 * browser would escape (non-ASCII, space, quotes, backslash…) escaped, dot segments removed. Throws FST_SSR_BAD_URL
 * (400) for a `%` not followed by two hex digits, or a control character.
 */
function canonicalPathOf (path: string): string {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const char = path[i]
    if (char === '%') {
      const hex = path.slice(i + 1, i + 3)
      if (hex.length !== 2 || !hexDigit.test(hex[0]) || !hexDigit.test(hex[1])) throw new FST_SSR_BAD_URL('malformed percent-escape in the path')
      const decoded = String.fromCharCode(parseInt(hex, 16))
      out += unreserved.test(decoded) ? decoded : `%${hex.toUpperCase()}`
      i += 2
    } else if (pathCharacter.test(char)) {
      out += char
    } else {
      const code = char.charCodeAt(0)
      if (code < 0x20 || code === 0x7f) throw new FST_SSR_BAD_URL('control character in the path')
      // encodeURIComponent takes a surrogate pair whole; a lone surrogate cannot be encoded.
      const next = code >= 0xd800 && code <= 0xdbff ? path[i + 1] ?? '' : ''
      try {
        out += encodeURIComponent(char + next)
      } catch {
        throw new FST_SSR_BAD_URL('unpaired surrogate in the path')
      }
      i += next.length
    }
  }
  return removeDotSegments(out)
}

/** RFC 3986 §5.2.4: `/a/./b/../c` is `/a/c`; a path never climbs above its root. */
function removeDotSegments (path: string): string {
  if (!path.includes('/.')) return path
  const segments = path.split('/')
  const kept: string[] = []
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]
    const last = i === segments.length - 1
    if (segment === '.' || segment === '..') {
      if (segment === '..' && kept.length > 0) kept.pop()
      if (last) kept.push('')
    } else {
      kept.push(segment)
    }
  }
  return `/${kept.join('/')}`
}

/** `cache.ignoreQuery`: parameter names dropped from the key and the render's URL, exactly or by prefix (`utm_*`). */
export interface IgnoredQuery {
  names: ReadonlySet<string>
  prefixes: readonly string[]
}

const noneIgnored: IgnoredQuery = { names: new Set(), prefixes: [] }

/** Reads `cache.ignoreQuery` entries: a trailing `*` makes a prefix. */
export function ignoredQuery (patterns: readonly string[]): IgnoredQuery {
  return {
    names: new Set(patterns.filter((pattern) => !pattern.endsWith('*'))),
    prefixes: patterns.filter((pattern) => pattern.endsWith('*')).map((pattern) => pattern.slice(0, -1))
  }
}

function isIgnored (name: string, ignored: IgnoredQuery): boolean {
  if (ignored.names.has(name)) return true
  for (const prefix of ignored.prefixes) if (name.startsWith(prefix)) return true
  return false
}

/**
 * The URL a page is rendered and keyed for: the request target parsed as a path (never as a URL against a base, so
 * `//x/y` stays that path), in canonical form (see canonicalPathOf); query parameters kept by the allowlist and not
 * ignored, sorted by name (values of one name keep their order) and re-encoded; the fragment dropped. An
 * absolute-form target (`http://host/path`) counts by its path and query. Throws FST_SSR_BAD_URL (400) for anything
 * else.
 */
export function normalizeUrl (url: string, allowedQuery: ReadonlySet<string> | null, ignoredQuery: IgnoredQuery = noneIgnored): string {
  if (canonicalPath.test(url)) return url
  let target = url
  const scheme = /^https?:\/\/[^/?#]*/i.exec(target)
  if (scheme !== null) target = target.slice(scheme[0].length) || '/'
  if (target[0] !== '/') throw new FST_SSR_BAD_URL('the request target is not a path')
  const hash = target.indexOf('#')
  if (hash !== -1) target = target.slice(0, hash)
  const mark = target.indexOf('?')
  const path = canonicalPathOf(mark === -1 ? target : target.slice(0, mark))
  if (mark === -1 || mark === target.length - 1) return path
  const params: Array<[string, string]> = []
  for (const [name, value] of new URLSearchParams(target.slice(mark + 1))) {
    if ((allowedQuery === null || allowedQuery.has(name)) && !isIgnored(name, ignoredQuery)) params.push([name, value])
  }
  if (params.length === 0) return path
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const query = params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')
  return `${path}?${query}`
}

/** Thrown for data that has no canonical form (a cycle, a function); such renders bypass the cache. */
export class UnkeyableDataError extends TypeError {}

/**
 * A canonical serialization of what the render receives after structured cloning: plain-object keys are
 * sorted (`{a,b}` equals `{b,a}`), everything else keeps its order, and every value is type-tagged so that
 * `"1"` and `1`, or `{a:'1,b'}` and `{a:'1',b:''}`, never collide.
 */
export function canonicalData (value: unknown): string {
  const walk = { ancestors: new Set<object>(), mutable: false }
  return canonical(value, walk)
}

/**
 * What deeply frozen arrays and plain objects contribute to keys, remembered: such data cannot change, and routes
 * that pass the same frozen catalog on every request would otherwise serialize (and hash) it on every cache hit.
 */
const frozenForms = new WeakMap<object, string>()

interface Walk {
  ancestors: Set<object>
  /** Set when anything below the node being serialized could still change. */
  mutable: boolean
}

function canonical (value: unknown, walk: Walk): string {
  switch (typeof value) {
    case 'undefined': return 'u'
    case 'boolean': return value ? 't' : 'f'
    case 'number': return Object.is(value, -0) ? 'n-0' : `n${value}`
    case 'bigint': return `b${value}`
    case 'string': return JSON.stringify(value)
    case 'object': break
    default: throw new UnkeyableDataError(`data holds a ${typeof value}, which cannot be cloned or keyed`)
  }
  if (value === null) return 'null'
  const remembered = frozenForms.get(value)
  if (remembered !== undefined) return remembered
  if (walk.ancestors.has(value)) throw new UnkeyableDataError('data contains a cycle')
  const outerMutable = walk.mutable
  walk.mutable = false
  walk.ancestors.add(value)
  try {
    const serialized = serialize(value, walk)
    // Tagged with "#", which no other form starts with.
    const form = serialized.length > digestAbove ? `#${sha256(serialized)}` : serialized
    if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
      if (!walk.mutable && isImmutableNode(value)) frozenForms.set(value, form)
      else walk.mutable = true
    } else {
      // Dates, Maps, Sets and buffers change inside even when frozen.
      walk.mutable = true
    }
    return form
  } finally {
    walk.ancestors.delete(value)
    walk.mutable = walk.mutable || outerMutable
  }
}

function serialize (value: object, walk: Walk): string {
  if (Array.isArray(value)) {
    const items: string[] = []
    for (let i = 0; i < value.length; i++) items.push(canonical(value[i], walk))
    return `[${items.join(',')}]`
  }
  if (value instanceof Date) return `D${value.getTime()}`
  if (value instanceof RegExp) return `R${String(value)}`
  if (value instanceof Map) {
    return `M{${[...value].map(([k, v]) => `${canonical(k, walk)}:${canonical(v, walk)}`).join(',')}}`
  }
  if (value instanceof Set) return `S{${[...value].map((v) => canonical(v, walk)).join(',')}}`
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return `V${value.constructor.name}:${bytes.toString('base64')}`
  }
  if (value instanceof ArrayBuffer) return `A${Buffer.from(value).toString('base64')}`
  // Structured cloning keeps own enumerable string keys of any other object, so that is what is keyed.
  const record = value as Record<string, unknown>
  const fields = Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${canonical(record[key], walk)}`)
  return `{${fields.join(',')}}`
}

/** A key derived from the page's inputs. */
export function pageKey (version: string, url: string, data: unknown): string {
  return `${version}\u0000page\u0000${url}\u0000${canonicalData(data)}`
}

/**
 * The key of a page whose data comes from a loader (`reply.ssr(url, loader)`): its URL alone, since the data is
 * only known once it is loaded, which a hit must not need. That is the key of the page without data, by design: both
 * are the page the URL decides, and `invalidate(url)` reaches either.
 */
export function loaderKey (version: string, url: string): string {
  return pageKey(version, url, undefined)
}

/** A key a route supplied itself (`reply.ssr(url, data, { key })`); tagged so it can never equal a derived one. */
export function customKey (version: string, key: string): string {
  return `${version}\u0000custom\u0000${key}`
}

/**
 * A key without its bundle version: what names the same page in every version, so an invalidation reaches the
 * copies other versions made (a rolling deploy, a rollback). Keys always start with the version and a NUL.
 */
export function versionlessKey (key: string): { version: string, rest: string } {
  const end = key.indexOf('\u0000')
  return { version: key.slice(0, end), rest: key.slice(end + 1) }
}

/** The key of `rest` (see versionlessKey) in this bundle version. */
export function withVersion (version: string, rest: string): string {
  return `${version}\u0000${rest}`
}

/** Whether a key (derived or route-supplied) belongs to the bundle `version`; a reload drops the others. */
export function isKeyOfVersion (key: string, version: string): boolean {
  return key.startsWith(`${version}\u0000`)
}

/**
 * The key of a page derived from its URL and data. Null for data without a canonical form (a cycle), which can still
 * be rendered, just never shared; FST_SSR_INVALID_DATA for data that throws while it is read (a getter, a Proxy) or
 * nests too deep to walk, with the thrown error as its cause only.
 */
export function dataKey (version: string, url: string, data: unknown): string | null {
  try {
    return pageKey(version, url, data)
  } catch (error) {
    if (error instanceof UnkeyableDataError) return null
    throw new FST_SSR_INVALID_DATA({ cause: error })
  }
}

/**
 * The key of the page a route asks for: its own `{ key }`, or for a loader the URL alone (the data is unknown until
 * the loader runs, which a hit must not need; loaderKey is the key without data), or the URL and the data. Null
 * for data without a canonical form.
 */
export function keyOf (version: string, url: string, data: unknown, routeKey?: string): string | null {
  if (routeKey !== undefined) return customKey(version, routeKey)
  return typeof data === 'function' ? loaderKey(version, url) : dataKey(version, url, data)
}
