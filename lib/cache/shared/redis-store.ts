import type { Redis } from 'ioredis'
import type { SharedConnections } from './connection'
import { FailureLog, SharedTierError, type SharedLogger } from './failures'
import type { DeploymentNames, PageRef } from './names'
import { extendScript, invalidateScript, lookupScript, releaseScript, storeScript, type Script } from './scripts'
import { keyHash } from './names'
import type { Epoch, FailureCounts, InvalidationOp, LockRequest, LookupResult, SharedStore, StoreEvents } from './store'

/**
 * After this many failed calls in a row, calls are not tried for `pauseMs`: a Redis that has stopped answering on a
 * live connection (no reset, just silence) would otherwise add `timeout` to every local miss.
 */
const failuresBeforePause = 3
const pauseMs = 1000

/** Pages one invalidation call deletes at most, so a purge of a large prefix never blocks Redis for long. */
const invalidationBatch = 500

type Arg = string | Buffer | number

/**
 * The shared store on Redis, on the command connection. Every call is bounded by `timeoutMs`, and fails at once
 * while the connection is not ready; failures are counted and logged by `failureLog` (which the bus reports its
 * connection errors to, too), then thrown for the caller to go on without Redis.
 */
export class RedisStore implements SharedStore {
  readonly failureLog: FailureLog
  readonly #client: Redis
  readonly #ownsClient: boolean
  readonly #names: DeploymentNames
  readonly #timeoutMs: number
  #events: StoreEvents | null = null
  #failuresInRow = 0
  #pausedUntil = 0

  constructor (connections: SharedConnections, names: DeploymentNames, timeoutMs: number, log: SharedLogger) {
    this.#client = connections.command
    this.#ownsClient = connections.ownsCommand
    this.#names = names
    this.#timeoutMs = timeoutMs
    this.failureLog = new FailureLog(log, () => this.#events?.recovered())
  }

  get connected (): boolean {
    return this.#client.status === 'ready'
  }

  get available (): boolean {
    return this.connected && Date.now() >= this.#pausedUntil
  }

  get failures (): Readonly<FailureCounts> {
    return this.failureLog.counts
  }

  open (events: StoreEvents): void {
    if (this.#events !== null) return
    this.#events = events
    this.#client.on('ready', this.#onReady)
    this.#client.on('close', this.#onClose)
    // The application's own client reports its errors to the application; only the plugin's are logged here.
    if (this.#ownsClient) this.#client.on('error', this.#onError)
    if (this.#client.status === 'wait') this.#client.connect().catch(() => {})
  }

  close (): void {
    this.#client.off('ready', this.#onReady)
    this.#client.off('close', this.#onClose)
    if (this.#ownsClient) this.#client.disconnect()
  }

  async lookup (ref: PageRef, lock: LockRequest | null, timeoutMs = this.#timeoutMs): Promise<LookupResult> {
    const reply = await this.#script('lookup', lookupScript, [ref.page, ref.lock, this.#names.epoch], [lock?.token ?? '', lock?.ttlMs ?? 0], timeoutMs) as [Buffer | null, number, Buffer | null]
    const epoch = reply[2]?.toString() ?? ''
    if (reply[0] !== null) return { found: true, value: reply[0], ttlMs: reply[1] < 0 ? null : reply[1], epoch }
    return { found: false, lock: reply[1] === 1 ? 'taken' : reply[1] === 0 ? 'held' : 'none', epoch }
  }

  async store (ref: PageRef, value: Buffer, ttlMs: number, epoch: Epoch, token: string | null): Promise<boolean> {
    const { epoch: epochName, index, expiry, renderedChannel } = this.#names
    const stored = await this.#script('store', storeScript, [ref.page, ref.lock, epochName, index, expiry],
      [value, ttlMs, epoch, token ?? '', ref.hash, ref.version, ref.url, renderedChannel])
    return stored === 1
  }

  async release (ref: PageRef, token: string): Promise<void> {
    await this.#script('release', releaseScript, [ref.lock], [token, this.#names.renderedChannel, ref.page])
  }

  async extend (ref: PageRef, token: string, ttlMs: number): Promise<boolean> {
    return await this.#script('extend', extendScript, [ref.lock], [token, ttlMs]) === 1
  }

  async invalidate (op: InvalidationOp, origin: string): Promise<Epoch> {
    const { prefix, index, expiry, epoch, invalidateChannel } = this.#names
    const target = op.type === 'key' ? keyHash(op.rest) : op.type === 'prefix' ? op.prefix : ''
    const message = JSON.stringify({ origin, op })
    for (let first = true; ; first = false) {
      const [, more, newEpoch] = await this.#script('invalidate', invalidateScript, [index, expiry, epoch],
        [prefix, op.type, target, invalidationBatch, first ? '1' : '0', invalidateChannel, message]) as [number, number, Buffer]
      if (more === 0) return newEpoch.toString()
    }
  }

  async epoch (): Promise<Epoch> {
    const value = await this.#call('epoch', this.#timeoutMs, async () => await this.#client.callBuffer('GET', this.#names.epoch)) as Buffer | null
    return value?.toString() ?? ''
  }

  async #script (op: string, script: Script, keys: string[], args: Arg[], timeoutMs = this.#timeoutMs): Promise<unknown> {
    return await this.#call(op, timeoutMs, async () => {
      try {
        return await this.#client.callBuffer('EVALSHA', script.sha, keys.length, ...keys, ...args)
      } catch (error) {
        // Redis forgets scripts when it restarts: send the source once, and it knows the script again.
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
        return await this.#client.callBuffer('EVAL', script.source, keys.length, ...keys, ...args)
      }
    })
  }

  async #call (op: string, timeoutMs: number, run: () => Promise<unknown>): Promise<unknown> {
    if (!this.connected) throw this.#failed(new SharedTierError('unavailable', op, `skipped: Redis is ${this.#client.status}`))
    if (!this.available) throw this.#failed(new SharedTierError('unavailable', op, `skipped: ${failuresBeforePause} calls failed in a row, trying again within ${pauseMs} ms`))
    let timer: NodeJS.Timeout | undefined
    const call = run()
    // A late answer or error after the timeout is nobody's to handle.
    call.catch(() => {})
    const timeout = new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => reject(new SharedTierError('timeout', op, `no answer within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      const reply = await Promise.race([call, timeout])
      this.#failuresInRow = 0
      this.failureLog.succeeded()
      return reply
    } catch (error) {
      if (++this.#failuresInRow >= failuresBeforePause) this.#pausedUntil = Date.now() + pauseMs
      throw this.#failed(error instanceof SharedTierError ? error : new SharedTierError('error', op, (error as Error).message, error))
    } finally {
      clearTimeout(timer)
    }
  }

  #failed (error: SharedTierError): SharedTierError {
    this.failureLog.failed(error)
    return error
  }

  readonly #onReady = (): void => {
    this.#failuresInRow = 0
    this.#pausedUntil = 0
    this.#events?.ready()
  }

  readonly #onClose = (): void => this.#events?.closed()

  readonly #onError = (error: unknown): void => this.failureLog.connectionError(error)
}
