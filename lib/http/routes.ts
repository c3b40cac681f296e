import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SsrEngine } from '../engine'
import { FST_SSR_METRICS_LISTEN, FST_SSR_UNAUTHORIZED } from '../errors'
import type { ResolvedMetrics, ResolvedRoute } from '../options'
import { prometheusContentType, toPrometheus } from '../prometheus'
import { MetricsListener, type MetricsAnswer } from './metrics-listener'

/** Runs the route's guard; anything but `true` (a throw included) is a 401 that reveals nothing else. */
function guard (auth: ResolvedRoute['auth']) {
  return async function authorize (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    let allowed = false
    try {
      allowed = (await auth(request)) === true
    } catch (error) {
      request.log.warn({ err: error }, 'SSR admin route auth threw; refusing')
    }
    if (!allowed) throw new FST_SSR_UNAUTHORIZED()
  }
}

function wantsPrometheus (accept: string | undefined, format: string | undefined): boolean {
  if (format !== undefined) return format === 'prometheus'
  // Prometheus scrapers ask for text/plain (0.0.4) or OpenMetrics; browsers and curl get JSON.
  const value = accept ?? ''
  return /text\/plain|application\/openmetrics-text/.test(value) && !/^\s*application\/json/.test(value)
}

/** The metrics as JSON, or in the Prometheus exposition format when asked for it: one answer for route and listener. */
async function answer (engine: SsrEngine, accept: string | undefined, format: string | undefined): Promise<MetricsAnswer> {
  const snapshot = engine.snapshot()
  if (!wantsPrometheus(accept, format)) return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(snapshot) }
  return { contentType: prometheusContentType, body: toPrometheus(snapshot, engine.latency) }
}

/**
 * The metrics route, where the operator asked for it: on the application's server behind `auth`, and/or on a
 * listener of its own (`port`, loopback by default). Never on the application's server unprotected.
 */
export function registerMetrics (fastify: FastifyInstance, engine: SsrEngine, metrics: ResolvedMetrics): void {
  if (metrics.auth !== null) {
    fastify.get(metrics.path, { onRequest: guard(metrics.auth) }, async (request, reply) => {
      const { format } = request.query as { format?: string }
      const { contentType, body } = await answer(engine, request.headers.accept, format)
      return reply.type(contentType).send(body)
    })
  }
  if (metrics.port === null) return
  const listener = new MetricsListener(metrics.path, async (accept, format) => await answer(engine, accept, format),
    (error) => fastify.log.error({ err: error }, 'SSR metrics listener failed to answer'))
  const { port, host } = metrics
  fastify.addHook('onReady', async () => {
    try {
      engine.metricsUrl = await listener.listen(port, host)
    } catch (error) {
      throw new FST_SSR_METRICS_LISTEN(`${host}:${port}`, (error as Error).message, { cause: error })
    }
    fastify.log.info({ url: engine.metricsUrl }, 'SSR metrics listening')
  })
  fastify.addHook('onClose', async () => { await listener.close() })
}

export function registerPurgeRoute (fastify: FastifyInstance, engine: SsrEngine, route: ResolvedRoute): void {
  // Only DELETE is routed, so any other method on the path is a 404 and never purges.
  fastify.delete(route.path, { onRequest: guard(route.auth) }, async (request) => {
    const { prefix } = request.query as { prefix?: string }
    if (prefix !== undefined && prefix !== '') return { removed: engine.invalidatePrefix(prefix), prefix }
    return { removed: engine.clear() }
  })
}
