import type { Epoch, InvalidationOp, SharedStore } from './store'

/** Failed invalidations kept for replay; past this, one `clear` replaces them. */
const maxReplay = 64

/** What the engine lets the tier do to the local tiers when another instance invalidates. */
export interface LocalTiers {
  /** Drops the page of `rest` (a key without its version, see versionlessKey) in this bundle version. */
  dropKey (rest: string): void
  dropPrefix (prefix: string): void
  dropAll (): void
}

/** An invalidation applied to this instance's local tiers, as `app.ssr.shared` reports it. */
export interface SharedInvalidationEvent {
  type: 'key' | 'prefix' | 'clear'
  prefix?: string
  /** False when this instance sent it (it applies its own once Redis has executed them, too). */
  remote: boolean
}

/** What the invalidation side tells the tier, and asks of it. */
export interface InvalidationHost {
  /** Runs store work after the current response, tracked for close(). */
  later (task: () => Promise<void>): void
  /** An invalidation was applied to the local tiers. */
  applied (event: SharedInvalidationEvent): void
  /** The local tiers were cleared because invalidations may have been missed. */
  resynced (): void
  /** `settled` may have changed. */
  changed (): void
}

/**
 * The invalidation half of the shared tier: sending purges through the store (replaying those the store could not
 * take once it answers again), applying every instance's purges to the local tiers, and the epoch that tells this
 * instance whether it missed some while its bus was away. A purge is never silently lost: it is either applied, or
 * replayed, or the local tiers are cleared.
 */
export class Invalidations {
  readonly #store: SharedStore
  readonly #local: LocalTiers
  readonly #host: InvalidationHost
  /** Tells this instance's messages from the others'. */
  readonly #origin: string
  #replay: InvalidationOp[] = []
  /** The newest epoch seen; null while unknown. */
  #lastEpoch: Epoch | null = null
  /** Set while the local tiers may hold pages purged by messages this instance missed. */
  #distrust = false
  /** Set from (re)subscribing until the epoch has been checked (which needs the store's connection). */
  #syncPending = false
  #stopped = false

  constructor (store: SharedStore, local: LocalTiers, origin: string, host: InvalidationHost) {
    this.#store = store
    this.#local = local
    this.#origin = origin
    this.#host = host
  }

  /** False while the local tiers may be out of step with the cluster's purges. */
  get settled (): boolean {
    return !this.#syncPending && !this.#distrust
  }

  /** From now on nothing is sent (the tier is closing). */
  stop (): void {
    this.#stopped = true
  }

  send (op: InvalidationOp): void {
    if (this.#stopped) return
    this.#host.later(async () => {
      try {
        this.#noteEpoch(await this.#store.invalidate(op, this.#origin))
      } catch {
        this.#queueReplay(op)
        return
      }
      this.flushReplay()
    })
  }

  /** Sends again what the store could not take: called when it answers again. */
  flushReplay (): void {
    const ops = this.#replay
    this.#replay = []
    for (const op of ops) this.send(op)
  }

  /** An invalidation from the bus, this instance's own included. */
  received (op: InvalidationOp, epoch: Epoch, origin: string): void {
    this.#noteEpoch(epoch)
    if (op.type === 'key') this.#local.dropKey(op.rest)
    else if (op.type === 'prefix') this.#local.dropPrefix(op.prefix)
    else this.#local.dropAll()
    const remote = origin !== this.#origin
    this.#host.applied(op.type === 'prefix' ? { type: 'prefix', prefix: op.prefix, remote } : { type: op.type, remote })
  }

  /** (Re)subscribed: messages sent while away were missed, so the epoch is checked. */
  subscribed (): void {
    this.#syncPending = true
    this.sync().catch(() => {})
  }

  /** The bus is away: from now on this instance may miss purges. */
  lost (): void {
    this.#distrust = true
    this.#host.changed()
  }

  /**
   * After (re)subscribing: if invalidations may have been missed (the epoch moved while away, or cannot be read),
   * the local tiers are cleared rather than serve what another instance purged.
   */
  async sync (): Promise<void> {
    // Without the store's connection the epoch cannot be read yet; its `ready` calls this again.
    if (!this.#syncPending || !this.#store.connected) return
    this.#syncPending = false
    let current: Epoch | null = null
    try {
      current = await this.#store.epoch()
    } catch {}
    if (this.#distrust && (current === null || current !== this.#lastEpoch)) {
      this.#local.dropAll()
      this.#host.resynced()
    }
    this.#distrust = false
    this.#lastEpoch = current
    this.#host.changed()
  }

  #queueReplay (op: InvalidationOp): void {
    if (this.#replay.some((queued) => queued.type === 'clear')) return
    this.#replay = op.type === 'clear' || this.#replay.length >= maxReplay ? [{ type: 'clear' }] : [...this.#replay, op]
  }

  #noteEpoch (epoch: Epoch): void {
    if (this.#lastEpoch === null || Number(epoch) > Number(this.#lastEpoch)) this.#lastEpoch = epoch
  }
}
