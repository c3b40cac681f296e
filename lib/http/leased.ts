import type { FastifyReply } from 'fastify'
import type { BodyLease, ServedPage } from '../page'
import { canWriteDirectly } from './direct'

/**
 * Sending a page whose bytes are on lease from a worker's ring (render/body-ring.ts): they are released once nothing
 * will read them again. Written directly (direct.ts), that is when Node has handed them to the kernel: at once when
 * the write went through whole, as it does unless the client reads slowly; otherwise when the response closes
 * (finished, or its connection gone). Fastify's own send path runs onSend hooks, which may keep the payload past the
 * response (a cache of their own), and a response whose end() or write() was replaced on it (Express-style
 * middleware: compression, capturing the output) may use the bytes after end() returns: both get a copy, and the
 * ring's bytes are released at once.
 */
export function sendLeased (reply: FastifyReply, page: ServedPage, lease: BodyLease, send: (reply: FastifyReply, page: ServedPage) => FastifyReply): FastifyReply {
  const res = reply.raw
  if (!canWriteDirectly(reply) || Object.hasOwn(res, 'end') || Object.hasOwn(res, 'write')) {
    const identity = Buffer.from(page.bodies.identity as Buffer)
    lease.release()
    return send(reply, { ...page, bodies: { ...page.bodies, identity }, lease: undefined })
  }
  try {
    return send(reply, page)
  } finally {
    releaseWhenWritten(res, lease)
  }
}

function releaseWhenWritten (res: FastifyReply['raw'], lease: BodyLease): void {
  // writableLength counts what the response holds back (a pipelined response waiting its turn) and what its socket
  // has not written yet; a closed response writes nothing more.
  if (res.writableLength === 0 || res.closed || res.destroyed) lease.release()
  else res.once('close', () => lease.release())
}
