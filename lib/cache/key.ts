/**
 * The one place cache keys are made. A key holds everything that decides a page: the bundle version, the URL as
 * the render will see it, and the data, all in canonical form and in full — lookups compare whole keys, never
 * hashes, so two different inputs can never share an entry.
 */

const unreserved = /[A-Za-z0-9\-._~]/

/** Decodes escapes of unreserved characters and upper-cases the rest, so `%7e`, `%7E` and `~` are one path. */
function canonicalEscapes (text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16))
    return unreserved.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

/**
 * The URL a page is rendered and keyed for: path with canonical escapes, query parameters filtered by the
 * allowlist, sorted by name (values of one name keep their order) and re-encoded; the fragment dropped.
 */
export function normalizeUrl (url: string, allowedQuery: ReadonlySet<string> | null): string {
  const parsed = new URL(url, 'http://localhost')
  const path = canonicalEscapes(parsed.pathname)
  const params: Array<[string, string]> = []
  for (const [name, value] of parsed.searchParams) {
    if (allowedQuery === null || allowedQuery.has(name)) params.push([name, value])
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
  const walk = { ancestors: [] as object[], mutable: false }
  return canonical(value, walk)
}

/**
 * Canonical forms of deeply frozen arrays and plain objects, remembered: such data cannot change, and routes that
 * pass the same frozen catalog on every request would otherwise re-serialize it on every cache hit.
 */
const frozenForms = new WeakMap<object, string>()

interface Walk {
  ancestors: object[]
  /** Set when anything below the node being serialized could still change. */
  mutable: boolean
}

/** Frozen, and every own property a plain value (a getter could answer differently next time). */
function isImmutable (value: object): boolean {
  if (!Object.isFrozen(value)) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false
  return Object.values(Object.getOwnPropertyDescriptors(value)).every((descriptor) => 'value' in descriptor)
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
  if (walk.ancestors.includes(value)) throw new UnkeyableDataError('data contains a cycle')
  const outerMutable = walk.mutable
  walk.mutable = false
  walk.ancestors.push(value)
  try {
    const form = serialize(value, walk)
    if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
      if (!walk.mutable && isImmutable(value)) frozenForms.set(value, form)
      else walk.mutable = true
    } else {
      // Dates, Maps, Sets and buffers change inside even when frozen.
      walk.mutable = true
    }
    return form
  } finally {
    walk.ancestors.pop()
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
