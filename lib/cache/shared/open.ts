import type { ResolvedSharedOptions } from './settings'
import { ClusterBus } from './cluster'
import { openConnections } from './connection'
import type { SharedLogger } from './failures'
import type { LocalTiers } from './invalidations'
import { deploymentNames } from './names'
import { RedisStore } from './redis-store'
import { SharedTier } from './shared-tier'

export type { SharedTier } from './shared-tier'

/**
 * The shared tier on Redis, as `cache.shared` configures it: the store on the command connection and the bus on
 * the subscriber, both under the deployment's prefix, sharing one failure log (so the metrics and the rate-limited
 * log lines count both). Nothing connects before the tier's start().
 */
export function openSharedTier (options: ResolvedSharedOptions, local: LocalTiers, log: SharedLogger): SharedTier {
  const names = deploymentNames(options.prefix)
  const connections = openConnections(options.redis)
  const store = new RedisStore(connections, names, options.timeout, log)
  const bus = new ClusterBus(connections.subscriber, names, store.failureLog)
  return new SharedTier(options, { store, bus, local, log })
}
