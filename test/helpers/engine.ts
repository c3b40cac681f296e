import type { Test } from 'tap'
// The engine is free of Fastify: tests that need its counters or pool stats drive it directly, as built.
import { SsrEngine } from '../../dist/engine.js'
import { normalizeOptions } from '../../dist/options.js'
import type { SsrOptions } from '../../dist/index.js'

export interface LoggedLine {
  level: 'error' | 'warn'
  object: object
  message: string
}

/** An engine over `options` (one thread unless told), with its log lines collected; closed when the test ends. */
export async function startEngine (t: Test, options: Partial<SsrOptions> & { bundle: string }, onLog?: (line: LoggedLine) => void) {
  const lines: LoggedLine[] = []
  const record = (level: LoggedLine['level']) => (object: object, message: string) => {
    const line = { level, object, message }
    lines.push(line)
    onLog?.(line)
  }
  const engine = await SsrEngine.start(normalizeOptions({ threads: 1, ...options }), { error: record('error'), warn: record('warn') })
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
