import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
// Tests exercise what dist/ ships: `npm test` builds first.
import ssrPlugin, { type SsrOptions } from '../../dist/index.js'

export const bundlesDir = join(__dirname, '..', 'fixtures', 'bundles')

export function bundle (name: string): string {
  return join(bundlesDir, name)
}

export interface Started {
  app: FastifyInstance
  base: string
  get (path: string, init?: RequestInit): Promise<Response>
}

/**
 * A real Fastify server on 127.0.0.1, port 0, with the plugin and a catch-all route that renders the request URL.
 * `data` may be a function of the request. Closed when the test ends.
 */
export async function startApp (
  t: Test,
  options: Partial<SsrOptions> & { bundle: string },
  data?: unknown | ((query: Record<string, string>) => unknown),
  configure?: (app: FastifyInstance) => void | Promise<void>
): Promise<Started> {
  const app = Fastify({ logger: false })
  await app.register(ssrPlugin, { threads: 1, ...options })
  if (configure !== undefined) await configure(app)
  app.get('/*', (request, reply) => {
    const value = typeof data === 'function' ? data(request.query as Record<string, string>) : data
    return reply.ssr(request.url, value)
  })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  return { app, base, get: async (path, init) => await fetch(base + path, init) }
}
