import type { FastifyReply } from 'fastify'

/**
 * Answers a failed render with its coded error (Fastify's error handler writes the body: code and a fixed
 * message, never the bundle's). The bundle's own message and stack are logged here, with the request id.
 */
export function sendFailure (reply: FastifyReply, error: unknown, url: string): FastifyReply {
  const coded = error as { statusCode?: number, cause?: unknown, retryAfter?: number, code?: string }
  if (coded.cause !== undefined && coded.statusCode !== undefined && coded.statusCode >= 500) {
    reply.log.error({ err: coded.cause, url, code: coded.code }, 'SSR render failed')
  }
  if (typeof coded.retryAfter === 'number') reply.header('retry-after', String(coded.retryAfter))
  // An error is about this request, never a page to keep.
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'private, no-store')
  return reply.send(error)
}
