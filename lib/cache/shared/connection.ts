import type { Redis } from 'ioredis'

/**
 * The two connections of the shared tier: commands, and a subscriber (a Redis connection that subscribes can run
 * nothing else). From a URL both are the plugin's own; from a client instance, commands go through the
 * application's client, left as configured and never closed by the plugin, and the subscriber is its duplicate.
 */
export interface SharedConnections {
  command: Redis
  subscriber: Redis
  /** True when the plugin created the command connection, and so closes it. */
  ownsCommand: boolean
}

/** Reconnect soon after a blip, then at most every 2 s, forever: the tier resumes by itself. */
function retryStrategy (attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 5), 2000)
}

export function openConnections (redis: Redis | string): SharedConnections {
  // Subscriptions are renewed by the bus on every `ready`, after it checks what it may have missed (cluster.ts).
  const subscriberOptions = { autoResubscribe: false, enableOfflineQueue: true, lazyConnect: true }
  if (typeof redis !== 'string') {
    return { command: redis, subscriber: redis.duplicate(subscriberOptions), ownsCommand: false }
  }
  // Loaded here, not at the top: ioredis costs about 19 MiB of memory, which only users of the shared tier should pay.
  const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis')
  const command = new RedisClient(redis, {
    lazyConnect: true,
    retryStrategy,
    // A call made while Redis is away fails at once instead of queueing behind the outage (and holding memory); a
    // call in flight when the connection drops fails rather than being sent again later, long after it mattered.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0
  })
  return { command, subscriber: command.duplicate(subscriberOptions), ownsCommand: true }
}
