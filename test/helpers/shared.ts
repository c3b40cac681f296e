import { once } from 'node:events'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import ssrPlugin, { type SsrOptions, type SsrSharedCacheOptions } from '../../dist/index.js'
import type { Redis } from 'ioredis'
import { RedisServer } from './redis'

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
  redis: RedisServer | Redis | string,
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
    cache: { ...cache, shared: { redis: redis instanceof RedisServer ? redis.url : redis, ...shared } }
  })
  // A function is a loader: the deployment's pages are then keyed by URL alone.
  app.get('/*', (request, reply) => reply.ssr(request.url, data))
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const tier = app.ssr.shared
  if (waitForRedis && tier !== null && !tier.connected) await once(tier as never, 'up')
  return { app, base, lines, get: async (path, init) => await fetch(base + path, init) }
}

/** The next `event` of an instance's shared tier (registered now, so nothing emitted later is missed). */
export async function next (instance: Instance, event: 'up' | 'down' | 'resync' | 'invalidation'): Promise<unknown> {
  const tier = instance.app.ssr.shared
  if (tier === null) throw new Error('no shared tier')
  return await new Promise((resolve) => tier.once(event as 'up', resolve as () => void))
}

/**
 * Listens on the deployment's "rendered" channel: Redis publishes a page's name there when it has run that page's
 * write-through (or lock release), so `written(name)` resolves once the write landed. Subscribed before it resolves.
 */
export async function watchWrites (t: Test, redis: RedisServer, prefix = 'ssr:'): Promise<{ written (name: string): Promise<void> }> {
  const subscriber = redis.client(t)
  await subscriber.subscribe(`${prefix}rendered`)
  const seen = new Set<string>()
  const waiting = new Map<string, () => void>()
  subscriber.on('message', (_channel: string, name: string) => {
    seen.add(name)
    waiting.get(name)?.()
  })
  return {
    written: async (name) => {
      if (seen.has(name)) return
      await new Promise<void>((resolve) => waiting.set(name, resolve))
    }
  }
}
