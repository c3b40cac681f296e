import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** Longest a closing server waits for its keep-alive connections to be told to close (see drain()). */
export const drainMaxMs = 1_000
/** A connection without a request for this long is idle: its client is not about to send one. */
export const idleAfterMs = 100

interface Connection {
  /** Requests being answered on it now. */
  active: number
  /** When it last finished a response (or was accepted). */
  lastActivity: number
  /** A response on it said `Connection: close`: the client sends nothing more. */
  told: boolean
}

const connectionOf = Symbol('fastify-ssr-engine.connection')

type TrackedResponse = ServerResponse & { [connectionOf]?: Connection }

/** A response's 'close' listener, the same function for all of them: `this` is the response. */
function responseClosed (this: TrackedResponse): void {
  const connection = this[connectionOf]
  if (connection === undefined) return
  connection.active--
  connection.lastActivity = performance.now()
  const header = this.getHeader('connection')
  if (header !== undefined && String(header).toLowerCase() === 'close') connection.told = true
}

/**
 * Closes keep-alive connections without resetting them. Node's `server.close()` (which Fastify calls after the
 * preClose hooks) closes every connection that looks idle at once; a keep-alive client may already have sent its
 * next request on one, unread, and then gets a TCP reset instead of an answer: 20 of 20 connections under a
 * keep-alive load, bare Fastify included. So before that, while Fastify already answers new requests 503 with
 * `Connection: close` and SSR responses carry `Connection: close` too, drain() waits until each open connection was
 * sent a response saying so, has closed, or has been idle for `idleAfterMs` (a busy client sends its next request
 * within a millisecond or two of a response), for `drainMaxMs` at most. HTTP/1 only: HTTP/2 sessions get GOAWAY.
 */
export class ConnectionDrain {
  readonly #connections = new Map<Socket, Connection>()

  constructor (server: Server) {
    server.on('connection', (socket: Socket) => {
      this.#connections.set(socket, { active: 0, lastActivity: performance.now(), told: false })
      socket.once('close', () => this.#connections.delete(socket))
    })
    // Every request of the server passes here, hits included: one shared listener, no closure or once() wrapper
    // made per request (those were ~1 KB and a measurable share of a cache hit's CPU).
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const connection = this.#connections.get(request.socket)
      if (connection === undefined || request.httpVersionMajor !== 1) return
      connection.active++
      ;(response as TrackedResponse)[connectionOf] = connection
      response.on('close', responseClosed)
    })
  }

  /** Resolves once every open connection was told to close, is closed or is idle; after `maxMs` at the latest. */
  async drain (maxMs = drainMaxMs): Promise<void> {
    const giveUpAt = performance.now() + maxMs
    // A shutdown path, checked every few milliseconds: simpler than an event per state and as prompt.
    while (this.#waitingFor() && performance.now() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, 5))
  }

  #waitingFor (): boolean {
    const now = performance.now()
    for (const connection of this.#connections.values()) {
      if (!connection.told && (connection.active > 0 || now - connection.lastActivity < idleAfterMs)) return true
    }
    return false
  }
}
