import { createHash } from 'node:crypto'
import { versionlessKey } from '../key'

/**
 * Every Redis name the shared tier uses, all under the deployment's prefix. The invalidation script (scripts.ts)
 * builds page names the same way, from a page's hash and version.
 *
 * - `<prefix>page:<version>:<hash>`  a page; <hash> is sha256 of the key without its version, and the value holds
 *                                    the full key, compared on every read (codec.ts)
 * - `<prefix>lock:<version>:<hash>`  the render lock of that page
 * - `<prefix>index`                  sorted set, all scores 0, read by lexical ranges: per page a member
 *                                    `u\0<url>\0<hash>\0<version>` (prefix invalidation) and a member
 *                                    `k\0<hash>\0<version>\0<url>` (one page in every bundle version)
 * - `<prefix>expiry`                 sorted set of `<hash>\0<version>\0<url>` by expiry time, to prune the index
 * - `<prefix>epoch`                  a counter every invalidation increments; a write-through is refused if it moved
 *                                    during the render, and a reconnecting instance compares it to the last it saw
 * - channels `<prefix>invalidate` and `<prefix>rendered`
 */
export interface DeploymentNames {
  prefix: string
  index: string
  expiry: string
  epoch: string
  invalidateChannel: string
  renderedChannel: string
}

export function deploymentNames (prefix: string): DeploymentNames {
  return {
    prefix,
    index: `${prefix}index`,
    expiry: `${prefix}expiry`,
    epoch: `${prefix}epoch`,
    invalidateChannel: `${prefix}invalidate`,
    renderedChannel: `${prefix}rendered`
  }
}

/** One page's names in Redis. */
export interface PageRef {
  key: string
  url: string
  version: string
  hash: string
  page: string
  lock: string
}

/** The hash naming a page in every version; a Redis name only, never its identity. */
export function keyHash (rest: string): string {
  return createHash('sha256').update(rest).digest('base64url')
}

export function pageRef (prefix: string, key: string, url: string): PageRef {
  const { version, rest } = versionlessKey(key)
  const hash = keyHash(rest)
  return { key, url, version, hash, page: `${prefix}page:${version}:${hash}`, lock: `${prefix}lock:${version}:${hash}` }
}
