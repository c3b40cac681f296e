import { once } from 'node:events'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import ssrPlugin, { type SsrOptions, type SsrSharedCacheOptions } from '../../dist/index.js'
import type { RedisServer } from './redis'

export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

export interface Instance {
  app: FastifyInstance
  base: string
  /** warn and error lines the instance logged. */
  lines: LogLine[]
  get (path: string, init?: RequestInit): Promise<Response>
}

/**
 * One instance of a deployment: a Fastify server on 127.0.0.1 with the plugin and a shared tier on `redis`, and a
 * catch-all route rendering the request URL (with `data`, if given). Resolves once the tier is connected, unless
 * `waitForRedis` is false. Closed when the test ends.
 */
export async function startInstance (
  t: Test,
  redis: RedisServer | string,
  options: Partial<SsrOptions> & { bundle: string },
  shared: Partial<SsrSharedCacheOptions> = {},
  { waitForRedis = true, data }: { waitForRedis?: boolean, data?: unknown } = {}
): Promise<Instance> {
  const lines: LogLine[] = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const app = Fastify({ logger: { level: 'warn', stream } })
  const { cache = {}, ...rest } = options
  await app.register(ssrPlugin, {
    threads: 1,
    ...rest,
    cache: { ...cache, shared: { redis: typeof redis === 'string' ? redis : redis.url, ...shared } }
  })
  app.get('/*', (request, reply) => reply.ssr(request.url, data))
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const tier = app.ssr.shared
  if (waitForRedis && tier !== null && !tier.connected) await once(tier as never, 'up')
  return { app, base, lines, get: async (path, init) => await fetch(base + path, init) }
}
