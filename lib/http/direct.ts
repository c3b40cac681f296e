import type { FastifyReply } from 'fastify'
import type { HeaderBlock } from './header-block'

/**
 * Fastify's own per-request state that decides whether a reply may skip `reply.send()`. Fastify keeps it under
 * symbols it does not export; they are found by their descriptions on the first reply and checked on every one after,
 * so a Fastify that names or keeps them otherwise (another major, a second copy in the process) gets no direct write,
 * only the ordinary `reply.send()`.
 */
interface Internals {
  /** On the request: the route's context, whose `onSend` is null when no onSend hook applies to the route. */
  context: symbol
  /** On the reply: the headers set with `reply.header()` so far, which `reply.getHeader()` reads. */
  headers: symbol
  /** On the reply: trailers, null unless `reply.trailer()` was called. */
  trailers: symbol
}

let known: Internals | null | undefined

function find (owner: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(owner).find((symbol) => symbol.description === description)
}

function internalsOf (reply: FastifyReply): Internals | null {
  const { request } = reply
  if (known != null && known.headers in reply && known.context in request) return known
  const context = find(request, 'fastify.context')
  const headers = find(reply, 'fastify.reply.headers')
  const trailers = find(reply, 'fastify.reply.trailers')
  known = context === undefined || headers === undefined || trailers === undefined ? null : { context, headers, trailers }
  return known
}

function isEmpty (object: object): boolean {
  // for...in stops at the first key: no array of keys is made per reply, as Object.keys() would.
  // eslint-disable-next-line no-unreachable-loop
  for (const _ in object) return false
  return true
}

/**
 * Whether `reply.send(body)` would write exactly the status, headers and body it is given: an HTTP/1 response, no
 * onSend hook on the route (they may change or replace the body, as @fastify/compress does), no trailers, and no
 * header set on the reply before (a hook's CORS or security headers, `connection: close` while closing). Then the
 * response can go to Node's `writeHead()` and `end()` at once, which is what Fastify does in the end. onResponse
 * hooks and the request log still run: Fastify attaches them to the response's `finish` before the handler runs.
 */
export function canWriteDirectly (reply: FastifyReply): boolean {
  if (reply.request.raw.httpVersionMajor !== 1) return false
  const internals = internalsOf(reply)
  if (internals === null) return false
  const fields = reply as unknown as Record<symbol, unknown>
  const context = (reply.request as unknown as Record<symbol, { onSend?: unknown } | undefined>)[internals.context]
  return context?.onSend === null && fields[internals.trailers] === null && isEmpty(fields[internals.headers] as object)
}

/** Node's symbol for a response's record of set headers (see NodeHeaders), found by its description once. */
let nodeHeadersKey: symbol | null | undefined

function nodeHeadersOf (res: FastifyReply['raw']): symbol | null {
  if (nodeHeadersKey === undefined) nodeHeadersKey = find(res, 'kOutHeaders') ?? null
  return nodeHeadersKey
}

/**
 * Writes status, headers and body as reply.send() would have (only after canWriteDirectly said so). When no header
 * was set on the response itself, the block's shared record goes where Node keeps set headers, and writeHead()
 * writes it unchecked (it was checked once); `reply.getHeader()` in an onResponse hook reads it there, as Fastify
 * falls back to the response's own headers. Otherwise, or on a Node that keeps them elsewhere, the headers go to
 * writeHead() as a list, which checks them, and Fastify's own record gets a copy so getHeader() still reads them.
 */
export function writeDirectly (reply: FastifyReply, status: number, block: HeaderBlock, cache: string, age: number | undefined, body: Buffer | string | null): void {
  const res = reply.raw
  const key = nodeHeadersOf(res)
  const fields = res as unknown as Record<symbol, unknown>
  const record = key !== null && fields[key] === null ? block.record(cache, age) : null
  if (record !== null) {
    fields[key as symbol] = record
    res.writeHead(status)
  } else {
    const flat = block.flat(cache, age)
    const sent: Record<string, string | string[]> = {}
    for (let i = 0; i < flat.length; i += 2) sent[flat[i] as string] = flat[i + 1]
    ;(reply as unknown as Record<symbol, unknown>)[(known as Internals).headers] = sent
    res.writeHead(status, flat as unknown as string[])
  }
  if (body === null) res.end()
  else res.end(body)
}
