import { FST_SSR_SHARED_TIER } from '../../errors'

/** The part of the engine's logger the shared tier uses (Fastify's logger fits). */
export interface SharedLogger {
  warn (object: object, message: string): void
}

export type FailureKind = 'timeout' | 'error' | 'unavailable'

/** Why a Redis call gave no answer; callers catch it and go on without Redis. */
export class SharedTierError extends FST_SSR_SHARED_TIER {
  constructor (readonly kind: FailureKind, op: string, reason: string, cause?: unknown) {
    super(op, reason, { cause })
  }
}

/**
 * Counts failed Redis calls and logs them without flooding: when Redis is down every local miss fails a call, so at
 * most one line per `intervalMs` is written, saying how many more failed since the last one; and one line when Redis
 * answers again.
 */
export class FailureLog {
  readonly counts = { timeouts: 0, errors: 0, unavailable: 0 }
  readonly #log: SharedLogger
  readonly #intervalMs: number
  readonly #now: () => number
  readonly #onRecovered: () => void
  #lastLineAt = -Infinity
  #suppressed = 0
  /** When the current run of failures began; null while calls succeed. */
  #failingSince: number | null = null
  #failuresInRun = 0

  constructor (log: SharedLogger, onRecovered: () => void = () => {}, intervalMs = 10_000, now: () => number = Date.now) {
    this.#log = log
    this.#onRecovered = onRecovered
    this.#intervalMs = intervalMs
    this.#now = now
  }

  failed (error: SharedTierError): void {
    if (error.kind === 'timeout') this.counts.timeouts++
    else if (error.kind === 'error') this.counts.errors++
    else this.counts.unavailable++
    this.#failingSince ??= this.#now()
    this.#failuresInRun++
    this.#line({ err: error, kind: error.kind }, 'SSR shared tier: Redis call failed; serving from the local tiers and rendering')
  }

  /** A connection-level error (refused, reset) reported by the client; logged under the same limit, not counted. */
  connectionError (error: unknown): void {
    this.#line({ err: error }, 'SSR shared tier: Redis connection error')
  }

  succeeded (): void {
    if (this.#failingSince === null) return
    this.#log.warn({ failures: this.#failuresInRun, downMs: this.#now() - this.#failingSince }, 'SSR shared tier: Redis answers again')
    this.#failingSince = null
    this.#failuresInRun = 0
    // The next failure is news again.
    this.#lastLineAt = -Infinity
    this.#suppressed = 0
    this.#onRecovered()
  }

  #line (object: object, message: string): void {
    const now = this.#now()
    if (now - this.#lastLineAt < this.#intervalMs) {
      this.#suppressed++
      return
    }
    this.#log.warn(this.#suppressed > 0 ? { ...object, suppressed: this.#suppressed } : object, message)
    this.#lastLineAt = now
    this.#suppressed = 0
  }
}
