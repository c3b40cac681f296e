import type { FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import { describe, integer, invalid, isPlainObject } from './check'

/** Decides whether a request may use an admin route; `false` (or a rejection) answers 401. */
export type SsrAuth = (request: FastifyRequest) => boolean | Promise<boolean>

/**
 * `GET /_ssr/metrics`: JSON, or Prometheus text with `Accept: text/plain` or `?format=prometheus`. The route exists
 * only where you say how it is protected: behind `auth` on the application's server, and/or on a listener of its
 * own (`port`), bound to loopback. A reverse proxy in front of the application then cannot expose it by accident.
 */
export interface SsrMetricsOptions {
  /** Route path, on both. Default `/_ssr/metrics`. */
  path?: string
  /** Serves the route on the application's server, to requests this function allows (`true`); others get 401. */
  auth?: SsrAuth
  /**
   * Serves the route on a listener of its own, on this port (0: any free port, see `app.ssr.metricsUrl`), opened at
   * `ready()` and closed with the server. No `auth` applies there: keep it off the network.
   */
  port?: number
  /** Address of the metrics listener. Default `127.0.0.1`. */
  host?: string
  /**
   * A prom-client registry of the application's (`register` of prom-client, or fastify-metrics' registry): the
   * plugin's metrics join it under the same names, so the application's own `/metrics` scrape covers them. Removed
   * from it when the server closes.
   */
  registry?: Registry
}

/** `DELETE /_ssr/cache[?prefix=/products]`: clears the cache, or the pages under a prefix. Off unless configured. */
export interface SsrPurgeOptions {
  /** Route path. Default `/_ssr/cache`. */
  path?: string
  /** Who may purge. Required: the route never exists unprotected. */
  auth: SsrAuth
}

export interface ResolvedRoute {
  path: string
  auth: SsrAuth
}

export interface ResolvedMetrics {
  path: string
  /** Null: not served on the application's server. */
  auth: SsrAuth | null
  /** Null: no listener of its own. */
  port: number | null
  host: string
  /** The application's prom-client registry, or null. */
  registry: Registry | null
}

export function resolveRoute (name: string, value: unknown, defaultPath: string): ResolvedRoute {
  if (!isPlainObject(value)) invalid(name, `expected an object { path?, auth }, got ${describe(value)}`)
  for (const key of Object.keys(value)) {
    if (key !== 'path' && key !== 'auth') invalid(`${name}.${key}`, 'unknown option; expected path or auth')
  }
  const { path = defaultPath, auth } = value
  if (auth === undefined) invalid(`${name}.auth`, 'expected a function (request) => boolean; this route never exists unprotected')
  return { path: routePath(name, path), auth: authFunction(name, auth) }
}

function routePath (name: string, path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/')) invalid(`${name}.path`, `expected a path starting with "/", got ${describe(path)}`)
  return path
}

function authFunction (name: string, auth: unknown): SsrAuth {
  if (typeof auth !== 'function') invalid(`${name}.auth`, `expected a function (request) => boolean, got ${describe(auth)}`)
  return auth as SsrAuth
}

/** A registry is recognized by what the plugin calls on it, whichever copy of prom-client made it. */
function isRegistry (value: unknown): value is Registry {
  if (value === null || typeof value !== 'object') return false
  const registry = value as Record<string, unknown>
  return typeof registry.registerMetric === 'function' && typeof registry.removeSingleMetric === 'function' && typeof registry.metrics === 'function'
}

export function resolveMetrics (value: unknown): ResolvedMetrics | null {
  if (value === undefined || value === false) return null
  if (!isPlainObject(value)) invalid('metrics', `expected false or an object { path?, auth?, port?, host?, registry? }, got ${describe(value)}`)
  const known = ['path', 'auth', 'port', 'host', 'registry']
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) invalid(`metrics.${key}`, `unknown option; expected one of ${known.join(', ')}`)
  }
  const { path = '/_ssr/metrics', auth, port, host = '127.0.0.1', registry } = value
  if (auth === undefined && port === undefined && registry === undefined) {
    invalid('metrics', 'expected auth (the route on the application\'s server, for requests it allows), port (a listener of its own on loopback) or registry (a prom-client registry of yours), or several; the route never exists unprotected')
  }
  if (registry !== undefined && !isRegistry(registry)) invalid('metrics.registry', `expected a prom-client Registry, got ${describe(registry)}`)
  if (typeof host !== 'string' || host === '') invalid('metrics.host', `expected an address to listen on, got ${describe(host)}`)
  return {
    path: routePath('metrics', path),
    auth: auth === undefined ? null : authFunction('metrics', auth),
    port: port === undefined ? null : integer('metrics.port', port, 0, 0, 65_535),
    host,
    registry: registry ?? null
  }
}
