import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SsrEngine } from '../engine'
import { FST_SSR_INVALID_OPTION, FST_SSR_METRICS_LISTEN, FST_SSR_UNAUTHORIZED } from '../errors'
import type { ResolvedMetrics, ResolvedRoute } from '../options'
import { PrometheusExport } from '../metrics/prometheus'
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

type Format = 'json' | 'prometheus' | 'openmetrics'

/** `?format=` decides; else Prometheus asks for OpenMetrics or text/plain (0.0.4); browsers and curl get JSON. */
function formatOf (accept: string | undefined, format: string | undefined): Format {
  if (format === 'prometheus' || format === 'openmetrics') return format
  if (format !== undefined) return 'json'
  const value = accept ?? ''
  if (/^\s*application\/json/.test(value)) return 'json'
  if (value.includes('application/openmetrics-text')) return 'openmetrics'
  return value.includes('text/plain') ? 'prometheus' : 'json'
}

/** The metrics as JSON, or in a Prometheus exposition format when asked for one: one answer for route and listener. */
async function answer (engine: SsrEngine, exporter: PrometheusExport, accept: string | undefined, format: string | undefined): Promise<MetricsAnswer> {
  const chosen = formatOf(accept, format)
  if (chosen === 'json') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(engine.snapshot()) }
  return await exporter.expose(chosen === 'openmetrics')
}

/** The plugin's metrics in prom-client, in the application's registry too when `metrics.registry` is given. */
function exporterFor (engine: SsrEngine, metrics: ResolvedMetrics): PrometheusExport {
  const cache = engine.options.cache
  try {
    return new PrometheusExport(engine, { cache: cache !== null, shared: cache?.shared != null }, metrics.registry)
  } catch (error) {
    throw new FST_SSR_INVALID_OPTION('metrics.registry', `could not take the plugin's metrics (${(error as Error).message}); is another instance of the plugin registered in it?`)
  }
}

/**
 * The metrics, where the operator asked for them: on the application's server behind `auth`, on a listener of its
 * own (`port`, loopback by default), in the application's prom-client registry. Never on the application's server
 * unprotected.
 */
export function registerMetrics (fastify: FastifyInstance, engine: SsrEngine, metrics: ResolvedMetrics): void {
  const exporter = exporterFor(engine, metrics)
  fastify.addHook('onClose', async () => { exporter.close() })
  if (metrics.auth !== null) {
    fastify.get(metrics.path, { onRequest: guard(metrics.auth) }, async (request, reply) => {
      const { format } = request.query as { format?: string }
      const { contentType, body } = await answer(engine, exporter, request.headers.accept, format)
      return reply.type(contentType).send(body)
    })
  }
  if (metrics.port === null) return
  const listener = new MetricsListener(metrics.path, async (accept, format) => await answer(engine, exporter, accept, format),
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
