import type { PoolStats } from '../render/pool'
import { readBundle, startBundle, type LoadedBundle, type PoolEvents } from './start'
import { FST_SSR_CLOSING } from '../errors'
import type { ResolvedOptions } from '../options'
import { watchFile, type FileWatch } from './watch'

/** Quiet time after the last change to a watched bundle before it is reloaded. */
export const watchDebounceMs = 100

export type OnSwitch = (previous: LoadedBundle, next: LoadedBundle) => void

export interface HostLogger {
  error (object: object, message: string): void
  warn (object: object, message: string): void
  info? (object: object, message: string): void
}

/**
 * Which bundle serves, and replacing it without a restart. A reload reads, compiles and starts the new bundle in a
 * pool of its own and checks it there while the current one keeps serving; only then the switch happens, in one
 * synchronous step (`onSwitch`). Renders the old pool accepted finish there; the old pool is destroyed once it has
 * none left, and then the reload resolves: from then on no old code runs. Reloads run one at a time, in the order
 * asked.
 */
export class BundleHost {
  #current: LoadedBundle
  readonly #options: ResolvedOptions
  readonly #events: PoolEvents
  readonly #log: HostLogger
  #onSwitch: OnSwitch = () => {}
  /** The reload in progress, if any; the next one starts after it. */
  #queue: Promise<unknown> = Promise.resolve()
  /** Old bundles whose pools still finish renders. */
  readonly #draining = new Set<LoadedBundle>()
  #retiredRestarts = 0
  #closing = false
  #watch: FileWatch | null = null
  readonly reloads = { succeeded: 0, failed: 0 }

  constructor (first: LoadedBundle, options: ResolvedOptions, events: PoolEvents, log: HostLogger) {
    this.#current = first
    this.#options = options
    this.#events = events
    this.#log = log
    if (options.watch) this.#watchCurrent()
  }

  /** Called in the one synchronous step that switches bundles (one listener: the engine, which drops old pages). */
  onSwitch (listener: OnSwitch): void {
    this.#onSwitch = listener
  }

  /** The current pool's figures (threads, queue), with the restarts of every pool this host ran. */
  poolStats (): PoolStats {
    return { ...this.#current.pool.stats(), workerRestarts: this.workerRestarts }
  }

  get current (): LoadedBundle {
    return this.#current
  }

  /** Workers replaced, over every pool this host has run: a counter must not fall back when a pool is replaced. */
  get workerRestarts (): number {
    let restarts = this.#retiredRestarts + this.#current.pool.stats().workerRestarts
    for (const bundle of this.#draining) restarts += bundle.pool.stats().workerRestarts
    return restarts
  }

  /**
   * Loads the bundle at `path` (default: the current path) and switches to it. Rejects with FST_SSR_BUNDLE_LOAD,
   * the current bundle still serving, when it cannot be read, compiled or loaded or has no render function; with
   * FST_SSR_CLOSING once the server is closing. With `onlyIfChanged`, a bundle whose content is unchanged is not
   * reloaded (resolves null).
   */
  async reload (path?: string): Promise<LoadedBundle>
  async reload (path: string, onlyIfChanged: boolean): Promise<LoadedBundle | null>
  async reload (path?: string, onlyIfChanged = false): Promise<LoadedBundle | null> {
    const reloading = this.#queue.then(async () => await this.#reloadNow(path ?? this.#current.path, onlyIfChanged))
    this.#queue = reloading.catch(() => {})
    return await reloading
  }

  /** Refuses reloads from now on and stops watching. */
  beginClose (): void {
    this.#closing = true
    this.#watch?.close()
  }

  /** Stops every render of every pool this host runs (the close timeout): queued ones dropped, running ones stopped. */
  abort (reason: unknown): void {
    this.#current.pool.abort(reason)
    for (const bundle of this.#draining) bundle.pool.abort(reason)
  }

  /** Waits for a reload in progress (and so for the old pool's renders), then destroys the current pool. */
  async close (): Promise<void> {
    this.beginClose()
    await this.#queue
    await this.#current.pool.destroy()
  }

  async #reloadNow (path: string, onlyIfChanged: boolean): Promise<LoadedBundle | null> {
    if (this.#closing) throw new FST_SSR_CLOSING()
    let next: LoadedBundle
    try {
      const source = await readBundle(path)
      if (onlyIfChanged && source.path === this.#current.path && source.version === this.#current.version) return null
      next = await startBundle(source, this.#options, this.#events)
    } catch (error) {
      this.reloads.failed++
      throw error
    }
    if (this.#closing) {
      await next.pool.destroy()
      throw new FST_SSR_CLOSING()
    }
    const previous = this.#current
    this.#current = next
    this.reloads.succeeded++
    this.#onSwitch(previous, next)
    if (this.#options.watch && next.path !== previous.path) this.#watchCurrent()
    this.#log.info?.({ path: next.path, version: next.version, previousVersion: previous.version }, 'SSR bundle reloaded')
    await this.#retire(previous)
    return next
  }

  async #retire (bundle: LoadedBundle): Promise<void> {
    this.#draining.add(bundle)
    // Each render has a deadline, so this ends; at close, closeTimeout stops what is left.
    await bundle.pool.drain()
    // Read before destroy(), after which the pool counts no more restarts.
    this.#retiredRestarts += bundle.pool.stats().workerRestarts
    this.#draining.delete(bundle)
    await bundle.pool.destroy()
  }

  #watchCurrent (): void {
    this.#watch?.close()
    this.#watch = null
    const path = this.#current.path
    const onError = (error: Error): void => this.#log.warn({ err: error, path }, 'SSR bundle watch failed; reload with fastify.ssr.reload()')
    try {
      this.#watch = watchFile(path, watchDebounceMs, () => {
        this.reload(path, true).catch((error: unknown) => {
          if (!this.#closing) this.#log.error({ err: error, path }, 'SSR bundle reload failed; the previous bundle keeps serving')
        })
      }, onError)
    } catch (error) {
      // A watch is a convenience: failing to set one up (the directory gone, no inotify watches left) fails nothing.
      onError(error as Error)
    }
  }
}
