import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/** How long a closing server waits for idle keep-alive connections to be told to close (see drain()). */
export const drainGraceMs = 1_000

/**
 * Closes keep-alive connections without resetting them. Node's `server.close()` (which Fastify calls after the
 * preClose hooks) closes every connection that looks idle at once; a keep-alive client may already have sent its
 * next request on one, unread, and then gets a TCP reset instead of an answer: 20 of 20 connections under a
 * keep-alive load, bare Fastify included. So before that, while Fastify already answers new requests 503 with
 * `Connection: close` and SSR responses carry `Connection: close` too, drain() waits until every open connection
 * has been sent a response saying so, or has closed, for `drainGraceMs` at most. What Node closes after that was
 * told, or stayed idle through the whole grace. HTTP/1 only: HTTP/2 sessions are closed with GOAWAY by Fastify.
 */
export class ConnectionDrain {
  readonly #open = new Set<Socket>()
  readonly #told = new WeakSet<Socket>()
  #settle: (() => void) | null = null

  constructor (server: Server) {
    server.on('connection', (socket: Socket) => {
      this.#open.add(socket)
      socket.once('close', () => {
        this.#open.delete(socket)
        this.#check()
      })
    })
    server.on('request', (request, response) => {
      if (request.httpVersionMajor !== 1) return
      response.once('finish', () => {
        if (String(response.getHeader('connection')).toLowerCase() === 'close') this.#told.add(request.socket)
        this.#check()
      })
    })
  }

  /** Resolves once every open connection was told to close or is closed, or after `graceMs`. */
  async drain (graceMs = drainGraceMs): Promise<void> {
    if (this.#pending() === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, graceMs)
      function done (): void {
        clearTimeout(timer)
        resolve()
      }
      this.#settle = done
    })
    this.#settle = null
  }

  #pending (): number {
    let pending = 0
    for (const socket of this.#open) if (!this.#told.has(socket)) pending++
    return pending
  }

  #check (): void {
    if (this.#settle !== null && this.#pending() === 0) this.#settle()
  }
}
