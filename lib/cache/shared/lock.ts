import { randomUUID } from 'node:crypto'
import type { RenderedWait } from './bus'
import type { PageRef } from './names'
import type { SharedStore } from './store'

/**
 * The cluster-wide render lock: `SET NX PX` taken in the lookup script, so that of N instances missing a page at
 * once one renders and the others wait for its result. The holder's token makes release and extension safe: an
 * instance only ever releases or extends a lock it still holds.
 */

export function lockToken (): string {
  return randomUUID()
}

/**
 * Keeps a held lock alive while the render runs, extending it every third of its TTL: a live holder keeps it
 * however long the render takes (up to its deadline), a holder that died loses it within one TTL, and then another
 * instance renders. Returns the function that stops it.
 */
export function keepLock (store: SharedStore, ref: PageRef, token: string, ttlMs: number): () => void {
  const timer = setInterval(() => { store.extend(ref, token, ttlMs).catch(() => {}) }, Math.max(1, Math.floor(ttlMs / 3)))
  timer.unref()
  return () => clearInterval(timer)
}

/** How often a waiting instance looks again without a notice: a quarter of the lock's TTL, within 20–250 ms. */
export function pollInterval (lockTtlMs: number): number {
  return Math.min(250, Math.max(20, Math.floor(lockTtlMs / 4)))
}

/**
 * Waits for the holder's "rendered" notice, or `pollMs` at most: a notice can be lost with a connection, and a holder
 * that died sends none (its lock just expires). Rejects with the signal's reason when every client left.
 */
export async function awaitTurn (wait: RenderedWait, pollMs: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  let onAbort = (): void => {}
  try {
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason)
        return
      }
      timer = setTimeout(resolve, pollMs)
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      wait.promise.then(resolve, reject)
    })
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
    wait.cancel()
  }
}
