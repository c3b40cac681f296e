import type { FastifyReply } from 'fastify'

/**
 * Asks the client to close its connection after this response. While the server closes, a keep-alive connection
 * that was busy when `server.close()` ran outlives its response and holds the close open until `keepAliveTimeout`
 * (72 s by default). Fastify does the same for requests that arrive while it closes. HTTP/2 has no such header.
 */
export function closeConnectionAfter (reply: FastifyReply): void {
  if (reply.request.raw.httpVersionMajor !== 2) reply.header('connection', 'close')
}
