import type { FastifyReply } from 'fastify'
import type { ServedPage } from '../engine'

const htmlType = 'text/html; charset=utf-8'

/** Writes a page: its status and headers (already validated in the worker), HTML by default, and its cache state. */
export function sendPage (reply: FastifyReply, page: ServedPage): FastifyReply {
  reply.code(page.status)
  for (const name in page.headers) reply.header(name, page.headers[name])
  if (page.headers['content-type'] === undefined) reply.header('content-type', htmlType)
  reply.header('x-ssr-cache', page.cache)
  return reply.send(page.body)
}
