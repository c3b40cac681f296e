import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SsrEngine } from '../engine'
import { FST_SSR_UNAUTHORIZED } from '../errors'
import type { ResolvedRoute } from '../options'
import { prometheusContentType, toPrometheus } from '../prometheus'

/** Runs the route's guard; anything but `true` (a throw included) is a 401 that reveals nothing else. */
function guard (route: ResolvedRoute) {
  return async function authorize (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    let allowed = false
    try {
      allowed = (await route.auth(request)) === true
    } catch (error) {
      request.log.warn({ err: error }, 'SSR admin route auth threw; refusing')
    }
    if (!allowed) throw new FST_SSR_UNAUTHORIZED()
  }
}

function wantsPrometheus (request: FastifyRequest): boolean {
  const { format } = request.query as { format?: string }
  if (format !== undefined) return format === 'prometheus'
  // Prometheus scrapers ask for text/plain (0.0.4) or OpenMetrics; browsers and curl get JSON.
  const accept = request.headers.accept ?? ''
  return /text\/plain|application\/openmetrics-text/.test(accept) && !/^\s*application\/json/.test(accept)
}

export function registerMetricsRoute (fastify: FastifyInstance, engine: SsrEngine, route: ResolvedRoute): void {
  fastify.get(route.path, { onRequest: guard(route) }, async (request, reply) => {
    const snapshot = engine.snapshot()
    if (!wantsPrometheus(request)) return snapshot
    reply.type(prometheusContentType)
    return toPrometheus(snapshot, engine.latency)
  })
}

export function registerPurgeRoute (fastify: FastifyInstance, engine: SsrEngine, route: ResolvedRoute): void {
  // Only DELETE is routed, so any other method on the path is a 404 and never purges.
  fastify.delete(route.path, { onRequest: guard(route) }, async (request) => {
    const { prefix } = request.query as { prefix?: string }
    if (prefix !== undefined && prefix !== '') return { removed: engine.invalidatePrefix(prefix), prefix }
    return { removed: engine.clear() }
  })
}
