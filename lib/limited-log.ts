/** The logger levels the plugin writes at (Fastify's logger fits). */
export interface LevelLogger {
  error (object: object, message: string): void
  warn (object: object, message: string): void
}

export type LimitedLevel = 'warn' | 'error'

interface Window {
  openedAt: number
  suppressed: number
  /** The line the suppressed count is reported with at the window's end. */
  level: LimitedLevel
  message: string
  object: object
  timer: NodeJS.Timeout | null
}

/**
 * Logs without flooding: at most one line per `key` per `intervalMs`. Lines within the interval are counted instead;
 * when it ends, one more line says how many were not logged (`suppressed`), so every event is accounted for. An
 * overload that sheds thousands of requests a second writes one line per interval, not thousands.
 */
export class RateLimitedLog {
  readonly #windows = new Map<string, Window>()
  readonly #intervalMs: number
  readonly #now: () => number

  constructor (intervalMs = 10_000, now: () => number = Date.now) {
    this.#intervalMs = intervalMs
    this.#now = now
  }

  /** Writes the line to `log` unless a line of `key` was written within the interval; then counts it. */
  write (log: LevelLogger, level: LimitedLevel, key: string, object: object, message: string): void {
    const now = this.#now()
    const window = this.#windows.get(key)
    if (window !== undefined && now - window.openedAt < this.#intervalMs) {
      window.suppressed++
      // The latest one speaks for the suppressed at the end of the window.
      window.level = level
      window.message = message
      window.object = object
      window.timer ??= this.#closeLater(log, key, window)
      return
    }
    // A window that ended with its report still pending (its timer not run yet) reports first.
    if (window !== undefined) this.#report(log, key, window)
    this.#windows.set(key, { openedAt: now, suppressed: 0, level, message, object, timer: null })
    log[level](object, message)
  }

  /** Forgets `key`: its next line is news again (a failure after a recovery). Reports what was suppressed first. */
  reset (log: LevelLogger, key: string): void {
    const window = this.#windows.get(key)
    if (window === undefined) return
    this.#report(log, key, window)
    this.#windows.delete(key)
  }

  /** Reports every count still pending (at close). */
  flush (log: LevelLogger): void {
    for (const [key, window] of this.#windows) this.#report(log, key, window)
    this.#windows.clear()
  }

  #closeLater (log: LevelLogger, key: string, window: Window): NodeJS.Timeout {
    const timer = setTimeout(() => {
      window.timer = null
      this.#report(log, key, window)
      // The report is a line: it opens the next window.
      window.openedAt = this.#now()
    }, Math.max(0, window.openedAt + this.#intervalMs - this.#now()))
    timer.unref()
    return timer
  }

  #report (log: LevelLogger, key: string, window: Window): void {
    if (window.timer !== null) clearTimeout(window.timer)
    window.timer = null
    if (window.suppressed === 0) return
    const suppressed = window.suppressed
    window.suppressed = 0
    log[window.level]({ ...window.object, suppressed }, `${window.message} (${suppressed} more like it in the last ${Math.round(this.#intervalMs / 1000)} s not logged)`)
  }
}
