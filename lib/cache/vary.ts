/**
 * `cache.vary`: request values that enter the key of every page, so one URL can have several cached versions (by
 * language, by a currency cookie). A name is a request header (`accept-language`) or a named cookie
 * (`cookie:currency`); names are lower-cased once, values trimmed.
 */

/** One request value a page varies by. */
export interface VaryName {
  /** As given, normalized: `accept-language`, `cookie:currency`. */
  name: string
  /** The header to read, or null for a cookie. */
  header: string | null
  /** The cookie to read, or null for a header. */
  cookie: string | null
}

export type RequestHeaders = Record<string, string | string[] | undefined>

const token = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/

/** Parses one `cache.vary` entry; null when it is not a header name or `cookie:<name>`. */
export function parseVaryName (raw: string): VaryName | null {
  const name = raw.trim().toLowerCase()
  if (name.startsWith('cookie:')) {
    // Cookie names keep their case in the Cookie header; they are matched as written.
    const cookie = raw.trim().slice('cookie:'.length)
    return token.test(cookie.toLowerCase()) ? { name: `cookie:${cookie}`, header: null, cookie } : null
  }
  if (!token.test(name) || name === 'cookie') return null
  return { name, header: name, cookie: null }
}

/** The names of `base` and `extra` together, each once, in a fixed order (so the key does not depend on it). */
export function mergeVary (base: readonly VaryName[], extra: readonly VaryName[] | undefined): readonly VaryName[] {
  if (extra === undefined || extra.length === 0) return base
  const byName = new Map<string, VaryName>()
  for (const name of [...base, ...extra]) byName.set(name.name, name)
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

function cookieValue (header: string | string[] | undefined, name: string): string {
  if (header === undefined) return ''
  for (const part of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return ''
}

function headerValue (value: string | string[] | undefined): string {
  if (value === undefined) return ''
  return (Array.isArray(value) ? value.join(', ') : value).trim()
}

/**
 * The key part for `names` in this request: each name with its value, NUL-separated (a header value cannot hold a
 * NUL). Empty when nothing varies; an absent header and an empty one are the same page.
 */
export function varyKeyPart (names: readonly VaryName[], headers: RequestHeaders | undefined): string {
  if (names.length === 0) return ''
  let part = ''
  for (const { name, header, cookie } of names) {
    const value = header !== null ? headerValue(headers?.[header]) : cookieValue(headers?.cookie, cookie as string)
    part += `\u0000${name}=${value}`
  }
  return part
}

/** The Vary header that says what a page varied by: cookies are all one header, `Cookie`. */
export function varyHeader (names: readonly VaryName[]): string | null {
  if (names.length === 0) return null
  const headers = new Set(names.map(({ header }) => header ?? 'cookie'))
  return [...headers].join(', ')
}

export function variesByCookie (names: readonly VaryName[]): boolean {
  return names.some(({ cookie }) => cookie !== null)
}
