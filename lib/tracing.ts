import { tracingChannel, type TracingChannel } from 'node:diagnostics_channel'

/**
 * The render lifecycle on Node's diagnostics_channel, as TracingChannels, so OpenTelemetry instrumentations and APMs
 * can attach without a dependency of ours (the way undici and Fastify publish theirs). Each channel's events are
 * `tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd` and `:error`; the context object of one operation is the
 * same in all its events. Nothing is published (or allocated) while no one subscribes.
 */
export const channelNames = Object.freeze({
  /** A cache lookup: the local tiers (sync), or the shared tier (async). */
  lookup: 'fastify-ssr-engine:lookup',
  /** A render that had to wait for a thread: from the queue until a worker takes it. */
  queue: 'fastify-ssr-engine:queue',
  /** A render in the pool, from admission to the worker's answer (queue wait included). */
  render: 'fastify-ssr-engine:render',
  /** A rendered page stored: in the local tiers (sync), or written through to the shared tier (async). */
  store: 'fastify-ssr-engine:store'
})

/** Lookup context. `cache` is set before the end: `HIT-HOT`, `HIT-COLD`, `STALE`, `MISS` or `BYPASS` (local); `HIT` or `MISS` (shared). */
export interface LookupContext { tier: 'local' | 'shared', url: string, cache?: string, error?: unknown }
/** Queue context: `queued` is how many renders waited when this one joined them. */
export interface QueueContext { url: string, queued: number }
/** Render context: `result` is the page (`status`, `headers`) at the end, `error` the coded FST_SSR_* error on a failure. */
export interface RenderContext { url: string, timeoutMs: number, result?: { status: number }, error?: unknown }
/** Store context. */
export interface StoreContext { tier: 'local' | 'shared', url: string, key: string, bytes: number, error?: unknown }

type Channel<C extends object> = TracingChannel<unknown, C>

export const lookupChannel: Channel<LookupContext> = tracingChannel(channelNames.lookup)
export const queueChannel: Channel<QueueContext> = tracingChannel(channelNames.queue)
export const renderChannel: Channel<RenderContext> = tracingChannel(channelNames.render)
export const storeChannel: Channel<StoreContext> = tracingChannel(channelNames.store)

/** Runs `fn` inside a traced async span when someone listens; `fn` as is otherwise. */
export function traced<C extends object, T> (channel: Channel<C>, context: () => NoInfer<C>, fn: () => Promise<T>): Promise<T> {
  // Not an async function: untraced, fn's own promise is the answer, with no second one around it.
  if (!channel.hasSubscribers) return fn()
  return channel.tracePromise(fn, context())
}

/** The synchronous counterpart of traced(). */
export function tracedSync<C extends object, T> (channel: Channel<C>, context: () => NoInfer<C>, fn: (context: C | null) => T): T {
  if (!channel.hasSubscribers) return fn(null)
  const made = context()
  return channel.traceSync(() => fn(made), made)
}

/** A wait whose start and end are not one call (the queue): start now, then done() or failed() once. */
export interface Wait {
  done (): void
  failed (error: unknown): void
}

export function beginWait (context: () => QueueContext): Wait | null {
  if (!queueChannel.hasSubscribers) return null
  const made = context() as QueueContext & { error?: unknown }
  queueChannel.start.publish(made)
  queueChannel.end.publish(made)
  const finish = (): void => {
    queueChannel.asyncStart.publish(made)
    queueChannel.asyncEnd.publish(made)
  }
  return {
    done: finish,
    failed (error) {
      made.error = error
      queueChannel.error.publish(made)
      finish()
    }
  }
}
