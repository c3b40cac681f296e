import { validateHeaderName, validateHeaderValue } from 'node:http'

/**
 * Node's own record of the headers set on a response, as `setHeader()` leaves it: lower-case name → [name, value].
 * `writeHead(status)` with no headers of its own writes this record without checking it again, since setHeader()
 * checked each header as it came in (`_storeHeader`, node/lib/_http_outgoing.js).
 */
export type NodeHeaders = Readonly<Record<string, readonly [string, string]>>

/** The last record made, for one cache state and age: every hit within the same second shares it. */
interface Made {
  cache: string
  age: number | undefined
  headers: NodeHeaders
}

/**
 * The headers of one prepared response (a page in one encoding, or its 304), checked once, as Node checks each
 * header it is given (a name is a token; a value has no control characters), and then written on every hit without
 * checking them again: Node's checks cost a bare route ~0.1 µs a header, ~1 µs for a hit's nine, on a ~15 µs hit.
 * Each response adds its own two, x-ssr-cache and Age (whole seconds), so the record with them is remembered for
 * the last pair asked: hits in the same second of the same page share one record, which is frozen (Node only reads
 * it after the headers are written; a change would reach other responses, and throws instead).
 */
export class HeaderBlock {
  /** name, value, name, value...: writeHead()'s form, for a response Node must check (see direct.ts). */
  readonly #flat: Array<string | string[]>
  /**
   * Kept for many responses, and every value a single string: then Node's record is made and shared. A list (a
   * bundle's two Link headers) cannot be; a block for one response is left to Node's own checks.
   */
  readonly #shareable: boolean
  #made: Made | undefined
  /** The block serves every hit of a stored page, not one response (a page rendered with the cache off). */
  readonly kept: boolean

  /** `pairs`: name, value, name, value... (not changed); `contentLength`: null for a 304. */
  constructor (pairs: ReadonlyArray<string | string[]>, contentLength: number | null, kept: boolean) {
    this.kept = kept
    let shareable = kept
    if (kept) {
      for (let i = 0; i < pairs.length; i += 2) {
        const name = pairs[i] as string
        const value = pairs[i + 1]
        validateHeaderName(name)
        if (Array.isArray(value)) {
          shareable = false
          for (const one of value) validateHeaderValue(name, one)
        } else {
          validateHeaderValue(name, value)
        }
      }
    }
    this.#flat = contentLength === null ? pairs.slice() : [...pairs, 'content-length', String(contentLength)]
    this.#shareable = shareable
  }

  /** The headers with this response's own, as writeHead(status, flat) takes them: a new array each time. */
  flat (cache: string, age: number | undefined): Array<string | string[]> {
    const flat = this.#flat.slice()
    if (age !== undefined) flat.push('age', String(age))
    flat.push('x-ssr-cache', cache)
    return flat
  }

  /** The same as Node's record of set headers, shared while the pair is the same; null when a value is a list. */
  record (cache: string, age: number | undefined): NodeHeaders | null {
    if (!this.#shareable) return null
    const made = this.#made
    if (made !== undefined && made.cache === cache && made.age === age) return made.headers
    const flat = this.flat(cache, age)
    // Validated in the constructor; x-ssr-cache's value is one of the plugin's own words and Age a number.
    const record: Record<string, readonly [string, string]> = {}
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] as string
      record[name.toLowerCase()] = Object.freeze([name, flat[i + 1] as string] as const)
    }
    // No prototype, so no name reads as a header that was never set (hasHeader('constructor')); added after the
    // properties, which keeps the object in V8's fast mode, where writeHead's for...in over it is cheap.
    Object.setPrototypeOf(record, null)
    this.#made = { cache, age, headers: Object.freeze(record) }
    return this.#made.headers
  }
}
