import type { BundleEvents, LoadedBundle } from './bundle/start'
import type { HostLogger } from './bundle/host'
import { RateLimitedLog } from './limited-log'
import type { LatencyHistogram } from './metrics/histogram'
import type { ResolvedOptions } from './options'
import type { PoolEvents } from './render/pool'

/** What the engine logs and measures of its pools and bundles, which no request hears of. */

export type EngineLogger = HostLogger

export function poolEvents (log: EngineLogger, latency: { render: LatencyHistogram, queueWait: LatencyHistogram }, options: ResolvedOptions): BundleEvents {
  return {
    workerError: (error) => log.error({ err: error }, 'SSR worker died outside a render; it was replaced'),
    bundleWarning: (warning, path) => log.warn({ path }, `SSR bundle: ${warning}`),
    timing: (timing) => {
      latency.render.record(timing.renderMs)
      latency.queueWait.record(timing.queueWaitMs)
    },
    workerReplaced: replacementLog(log, options.renderTimeout),
    pinned: pinLog(log)
  }
}

/**
 * Logs a worker lost with a render: stopped at its deadline, or dead (exit, heap limit); a new one is starting.
 * The request's own failure is logged where it is answered, with the stack: these lines carry none, and under a
 * storm of them (a bundle that hangs every render) come once per 10 s with a count. Recycling is routine: unlogged.
 */
function replacementLog (log: EngineLogger, renderTimeout: number): NonNullable<PoolEvents['workerReplaced']> {
  const limited = new RateLimitedLog()
  return (reason, threadId) => {
    if (reason === 'deadline') {
      limited.write(log, 'warn', reason, { threadId, renderTimeout },
        'SSR render still running at its deadline: its worker was terminated and a new one is starting')
    } else if (reason === 'crash') {
      limited.write(log, 'warn', reason, { threadId }, 'SSR worker died during a render: a new one is starting')
    }
  }
}

/** Logs where `pinThreads` put each worker: every success at info, the first failure at warn (the rest would repeat it). */
function pinLog (log: EngineLogger): NonNullable<PoolEvents['pinned']> {
  let warned = false
  return (threadId, result) => {
    if ('cpu' in result) {
      log.info?.({ threadId, cpu: result.cpu }, 'SSR worker pinned to its CPU')
    } else if (!warned) {
      warned = true
      log.warn({ threadId, reason: result.failed }, 'SSR worker could not be pinned to a CPU; workers run unpinned')
    }
  }
}

/** What a server starts with, said once at startup: which bundle, how many threads, how much memory the cache may take. */
export function startupLine (options: ResolvedOptions, bundle: LoadedBundle, threads: number): object {
  const { cache } = options
  return {
    bundle: bundle.path,
    version: bundle.version,
    threads,
    renderTimeout: options.renderTimeout,
    maxQueue: options.maxQueue,
    cache: cache === null
      ? false
      : {
          hotEntries: cache.hotEntries,
          hotMaxBytes: cache.hotMaxBytes,
          coldEntries: cache.coldEntries,
          coldMaxBytes: cache.coldMaxBytes,
          ttl: cache.ttl,
          shared: cache.shared === null ? false : { prefix: cache.shared.prefix, timeout: cache.shared.timeout }
        }
  }
}
