import createError from '@fastify/error'

/**
 * Every error the plugin raises, declared once. Codes are stable and documented in the README;
 * messages never carry a bundle's own error message or stack (those go to the log).
 */

/** A plugin option is missing, of the wrong type or out of range. Fails `register`. */
export const FST_SSR_INVALID_OPTION = createError(
  'FST_SSR_INVALID_OPTION', 'Invalid option "%s": %s', 500, TypeError)

/** The server bundle could not be read, compiled or evaluated, or exposes no render function. Fails `ready()`. */
export const FST_SSR_BUNDLE_LOAD = createError(
  'FST_SSR_BUNDLE_LOAD', 'Cannot load server bundle %s: %s', 500)

/** The bundle's render function threw or rejected. The cause is logged, never sent. */
export const FST_SSR_RENDER_FAILED = createError(
  'FST_SSR_RENDER_FAILED', 'Render failed', 500)

/** The render returned something that cannot be sent safely (not HTML, bad status, unsafe header). */
export const FST_SSR_INVALID_RESULT = createError(
  'FST_SSR_INVALID_RESULT', 'Render returned an invalid result', 500)

/**
 * The render's data cannot be keyed or passed to a worker: it cannot be structured-cloned (a function, a Proxy…),
 * a getter threw, or it nests too deep. The cause is logged, never sent.
 */
export const FST_SSR_INVALID_DATA = createError(
  'FST_SSR_INVALID_DATA', 'Render data cannot be passed to the renderer', 500)

/** A request target that is not a path that can be normalized (a malformed escape, a control character). */
export const FST_SSR_BAD_URL = createError(
  'FST_SSR_BAD_URL', 'Bad request target: %s', 400)

/** The page's data loader (`reply.ssr(url, loader)`) threw or rejected. The cause is logged, never sent. */
export const FST_SSR_DATA_FAILED = createError(
  'FST_SSR_DATA_FAILED', 'Loading the page data failed', 500)

/** The render did not finish within `renderTimeout` (queue wait included) and was stopped. */
export const FST_SSR_RENDER_TIMEOUT = createError(
  'FST_SSR_RENDER_TIMEOUT', 'Render timed out', 504)

/** The worker running the render died (process.exit, out of memory, uncaught error). It is replaced. */
export const FST_SSR_WORKER_CRASHED = createError(
  'FST_SSR_WORKER_CRASHED', 'Render worker crashed', 500)

/** `maxQueue` renders already wait for a thread; the request is shed with Retry-After. */
export const FST_SSR_QUEUE_FULL = createError(
  'FST_SSR_QUEUE_FULL', 'Render queue is full, retry later', 503)

/** The server is closing and accepts no new renders. */
export const FST_SSR_CLOSING = createError(
  'FST_SSR_CLOSING', 'Server is shutting down', 503)

/** An admin route (metrics, purge) refused the request. */
export const FST_SSR_UNAUTHORIZED = createError(
  'FST_SSR_UNAUTHORIZED', 'Unauthorized', 401)

/**
 * A call to the shared cache tier (Redis) failed, timed out, or Redis was unreachable. Logged (rate-limited), never
 * sent: the request is served from the local tiers or rendered.
 */
export const FST_SSR_SHARED_TIER = createError(
  'FST_SSR_SHARED_TIER', 'Shared cache tier: %s %s', 500)
