import { STATUS_CODES } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { RateLimitedLog } from '../limited-log'

/** Answers the plugin gives when it sheds work: the plugin working as designed, not a fault. */
const shedCodes = new Set(['FST_SSR_QUEUE_FULL', 'FST_SSR_CLOSING', 'FST_SSR_RENDER_TIMEOUT'])

interface CodedError {
  statusCode?: number
  retryAfter?: number
  code?: string
  message?: string
}

/**
 * Answers a render that gave no page with its coded error; the body carries the code and a fixed message, never
 * the bundle's. Each failure is logged once:
 * - Shedding (503 queue full or closing, 504 deadline) is answered here, the way Fastify answers a request that
 *   arrives while it closes: logged at warn without a stack, at most one line per code per interval with a count
 *   of the others (`shed`). Sent through the error handler, each would be an error line with a stack: an overload
 *   would flood the log exactly when it matters.
 * - Any other failure (a render that threw, a crashed worker) goes to the application's error handler, like any
 *   route error: Fastify's default one logs it at error level, the bundle's message and stack included as its cause.
 */
export function sendFailure (reply: FastifyReply, error: unknown, url: string, shed: RateLimitedLog): FastifyReply {
  const coded = error as CodedError
  if (typeof coded.retryAfter === 'number') reply.header('retry-after', String(coded.retryAfter))
  // An error is about this request, never a page to keep.
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'private, no-store')
  const statusCode = coded.statusCode
  if (statusCode === undefined || coded.code === undefined || !shedCodes.has(coded.code)) return reply.send(error)
  shed.write(reply.log, 'warn', coded.code, { code: coded.code, statusCode, url }, `SSR request answered ${statusCode} ${coded.code}`)
  return reply.code(statusCode).send({ statusCode, code: coded.code, error: STATUS_CODES[statusCode], message: coded.message })
}
