import type { Test } from 'tap'
// The engine is free of Fastify: tests that need its counters or pool stats drive it directly, as built.
import { startEngine as start } from '../../dist/start.js'
import { normalizeOptions } from '../../dist/options/index.js'
import type { SsrOptions } from '../../dist/index.js'

export interface LoggedLine {
  level: 'error' | 'warn' | 'info'
  object: object
  message: string
}

/**
 * An engine over `options` (one thread unless told), with its log lines collected; closed when the test ends.
 * `now` is the cache's clock (see clock()).
 */
export async function startEngine (t: Test, options: Partial<SsrOptions> & { bundle: string }, onLog?: (line: LoggedLine) => void, now?: () => number) {
  const lines: LoggedLine[] = []
  const record = (level: LoggedLine['level']) => (object: object, message: string) => {
    const line = { level, object, message }
    lines.push(line)
    onLog?.(line)
  }
  const logger = { error: record('error'), warn: record('warn'), info: record('info') }
  const engine = await start(normalizeOptions({ threads: 1, ...options }), logger, now)
  // Piscina unrefs idle workers, and without a server nothing else holds the process open: keep it up, as a server
  // would, so a test can hear a worker die between tasks.
  const keepAlive = setInterval(() => {}, 60_000)
  t.teardown(async () => {
    clearInterval(keepAlive)
    await engine.close()
  })
  return { engine, lines }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection (t: Test, promise: Promise<unknown>): Promise<Error & { code?: string, statusCode?: number, retryAfter?: number }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string, statusCode?: number }
  }
  t.fail('expected a rejection')
  return new Error('resolved')
}

/** A clock the test moves by hand, for TTLs and stale windows. */
export function clock (start = Date.now()) {
  let now = start
  return {
    now: () => now,
    advance (seconds: number): void { now += seconds * 1000 }
  }
}

/** Log lines as events: `next(matches)` resolves at the next line it accepts. Pass `onLog` to startEngine. */
export class LogWatch {
  #waiting: Array<{ matches: (line: LoggedLine) => boolean, resolve: (line: LoggedLine) => void }> = []

  readonly onLog = (line: LoggedLine): void => {
    const still = []
    for (const waiter of this.#waiting) {
      if (waiter.matches(line)) waiter.resolve(line)
      else still.push(waiter)
    }
    this.#waiting = still
  }

  async next (matches: (line: LoggedLine) => boolean): Promise<LoggedLine> {
    return await new Promise((resolve) => this.#waiting.push({ matches, resolve }))
  }
}
