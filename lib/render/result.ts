import type { PageHeaders } from './protocol'

/** A render's result once checked: HTML, status and headers safe to send. */
export interface RenderResult {
  html: string
  status: number
  headers: PageHeaders
}

/** Thrown for a render result that must not reach the socket; becomes FST_SSR_INVALID_RESULT. */
export class InvalidResultError extends Error {
  override name = 'InvalidResultError'
}

// RFC 9110 token: anything else in a header name could split or smuggle a response.
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Visible ASCII, space, tab and obs-text; CR, LF and NUL are what split responses.
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/

// Framing and encoding are the plugin's to decide: a bundle setting them could desynchronise the connection.
const reservedHeaders = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade',
  'trailer', 'te', 'content-encoding', 'x-ssr-cache'])

function headerValues (name: string, value: unknown): string | string[] {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'string') {
    if (!headerValue.test(value)) throw new InvalidResultError(`header "${name}" has a forbidden character`)
    return value
  }
  if (Array.isArray(value)) return value.map((item) => headerValues(name, item) as string)
  throw new InvalidResultError(`header "${name}" must be a string, a number or an array of strings`)
}

function normalizeHeaders (headers: unknown): PageHeaders {
  if (headers === undefined || headers === null) return {}
  if (typeof headers !== 'object' || Array.isArray(headers)) throw new InvalidResultError('headers must be an object')
  const result: PageHeaders = Object.create(null)
  for (const [rawName, value] of Object.entries(headers)) {
    if (!headerName.test(rawName)) throw new InvalidResultError('a header name is not a valid token')
    const name = rawName.toLowerCase()
    if (reservedHeaders.has(name)) throw new InvalidResultError(`header "${name}" is set by the server, not the bundle`)
    result[name] = headerValues(name, value)
  }
  return result
}

/** Turns whatever the bundle's render returned (a string or `{ html, status, headers }`) into a safe result. */
export function normalizeRenderResult (value: unknown): RenderResult {
  if (typeof value === 'string') return { html: value, status: 200, headers: {} }
  if (value === null || typeof value !== 'object') {
    throw new InvalidResultError(`render must return a string or { html, status, headers }, got ${value === null ? 'null' : typeof value}`)
  }
  const { html, status = 200, headers } = value as { html?: unknown, status?: unknown, headers?: unknown }
  if (typeof html !== 'string') throw new InvalidResultError('result.html must be a string')
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new InvalidResultError('result.status must be an integer from 200 to 599')
  }
  return { html, status, headers: normalizeHeaders(headers) }
}
