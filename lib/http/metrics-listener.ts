import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the listener answers with, made by the same function as the route's answer. */
export interface MetricsAnswer {
  contentType: string
  body: string
}

export type AnswerMetrics = (accept: string | undefined, format: string | undefined) => Promise<MetricsAnswer>

/**
 * The metrics on a listener of their own (`metrics: { port }`), bound to loopback by default: a reverse proxy in
 * front of the application forwards to the application's port, so nothing it relays can reach this one unless an
 * operator points it here. It answers `GET <path>` (and HEAD) and nothing else, without Fastify: it must not carry
 * the application's routes, hooks or plugins.
 */
export class MetricsListener {
  readonly #server: Server
  readonly #path: string

  constructor (path: string, answer: AnswerMetrics, onError: (error: unknown) => void) {
    this.#path = path
    this.#server = createServer((request, response) => { this.#handle(request, response, answer).catch(onError) })
    // An idle scraper connection must not hold close() open.
    this.#server.keepAliveTimeout = 5_000
  }

  async listen (port: number, host: string): Promise<string> {
    this.#server.listen(port, host)
    await Promise.race([once(this.#server, 'listening'), once(this.#server, 'error').then(([error]) => { throw error })])
    const address = this.#server.address() as AddressInfo
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${shownHost}:${address.port}${this.#path}`
  }

  async close (): Promise<void> {
    if (!this.#server.listening) return
    const closed = once(this.#server, 'close')
    this.#server.close()
    this.#server.closeIdleConnections()
    await closed
  }

  async #handle (request: IncomingMessage, response: ServerResponse, answer: AnswerMetrics): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://metrics.invalid')
    if (url.pathname !== this.#path) return end(response, 404, 'text/plain; charset=utf-8', 'Not Found')
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD')
      return end(response, 405, 'text/plain; charset=utf-8', 'Method Not Allowed')
    }
    const { contentType, body } = await answer(request.headers.accept, url.searchParams.get('format') ?? undefined)
    end(response, 200, contentType, request.method === 'HEAD' ? null : body, Buffer.byteLength(body))
  }
}

function end (response: ServerResponse, status: number, contentType: string, body: string | null, length = Buffer.byteLength(body ?? '')): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': length, 'cache-control': 'no-store' })
  response.end(body ?? undefined)
}
