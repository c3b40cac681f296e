import { basename } from 'node:path'
import type { Test } from 'tap'
import { SsrEngine, type BundleSide } from '../../dist/engine.js'
import { normalizeOptions } from '../../dist/options/index.js'
import type { SsrOptions } from '../../dist/index.js'
import type { PoolStats } from '../../dist/render/pool.js'
import { clock, type LoggedLine } from './engine'
import { FakeRenderer } from './fake-renderer'

/**
 * The bundle side of a fake engine: no files, no pools. A bundle's version is its file name (`/fake/v2.js` is `v2`),
 * standing for the real content hash: reloading the same path keeps the version, another path switches it.
 */
export class FakeBundles implements BundleSide {
  current = { path: '/fake/v1.js', version: 'v1', loadedAt: new Date() }
  readonly reloads = { succeeded: 0, failed: 0 }
  closing = false
  closed = false
  readonly #renderer: FakeRenderer
  #onSwitch: (previous: { version: string }, next: { version: string }) => void = () => {}

  constructor (renderer: FakeRenderer) {
    this.#renderer = renderer
  }

  poolStats (): PoolStats {
    return { threads: 1, busyThreads: 0, queueSize: 0, utilization: 0, completed: 0, workerRestarts: 0 }
  }

  async reload (path = this.current.path): Promise<{ path: string, version: string, loadedAt: Date }> {
    const previous = this.current
    this.current = { path, version: basename(path, '.js'), loadedAt: new Date() }
    this.reloads.succeeded++
    // The real host switches in one synchronous step, then resolves once the old pool has drained.
    this.#onSwitch(previous, this.current)
    return this.current
  }

  onSwitch (listener: (previous: { version: string }, next: { version: string }) => void): void {
    this.#onSwitch = listener
  }

  beginClose (): void {
    this.closing = true
  }

  abort (reason: unknown): void {
    this.#renderer.abort(reason)
  }

  async close (): Promise<void> {
    this.closed = true
  }
}

/**
 * An engine over `options` on a FakeRenderer (`queued`: its renders wait to be started) and a manual clock, its log
 * lines collected. Closed when the test ends, any render the test left unsettled dropped first.
 */
export function fakeEngine (t: Test, options: Partial<SsrOptions> = {}, fake: { queued?: boolean, onLog?: (line: LoggedLine) => void } = {}) {
  const time = clock()
  const renderer = new FakeRenderer({ queued: fake.queued })
  const bundles = new FakeBundles(renderer)
  const lines: LoggedLine[] = []
  const record = (level: LoggedLine['level']) => (object: object, message: string) => {
    const line = { level, object, message }
    lines.push(line)
    fake.onLog?.(line)
  }
  const log = { error: record('error'), warn: record('warn'), info: record('info') }
  const engine = new SsrEngine(normalizeOptions({ bundle: '/fake/v1.js', ...options }), { renderer, bundles, log, now: time.now })
  t.teardown(async () => {
    renderer.abort(new Error('the test ended'))
    await engine.close()
  })
  return { engine, renderer, bundles, time, lines }
}

/**
 * Resolves after every continuation a settled fake render set off: they are all microtasks (no I/O, no timers
 * without a shared tier), and a macrotask runs only once the microtask queue is empty. For effects no one awaits,
 * such as a background refresh storing its page.
 */
export async function settled (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

/** A page's HTML. */
export function html (page: { bodies: { identity: Buffer | string } }): string {
  return page.bodies.identity.toString()
}
