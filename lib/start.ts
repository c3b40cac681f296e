import { BundleHost } from './bundle/host'
import { readBundle, startBundle } from './bundle/start'
import { poolEvents, startupLine, type EngineLogger } from './engine-log'
import { SsrEngine } from './engine'
import { LatencyHistogram } from './metrics/histogram'
import type { ResolvedOptions } from './options'
import { Renderer } from './render/renderer'

/**
 * An engine on real parts: reads and checks the bundle, starts the workers and waits until one has loaded it, then
 * the shared tier. `now` is the cache's clock (tests move it); it defaults to the wall clock.
 */
export async function startEngine (options: ResolvedOptions, log: EngineLogger, now: () => number = Date.now): Promise<SsrEngine> {
  const latency = { render: new LatencyHistogram(), queueWait: new LatencyHistogram() }
  const events = poolEvents(log, latency, options)
  const first = await startBundle(await readBundle(options.bundle), options, events)
  const bundles = new BundleHost(first, options, events, log)
  const renderer = new Renderer(() => bundles.current.pool, options)
  const engine = new SsrEngine(options, { renderer, bundles, log, now, latency })
  try {
    await engine.shared?.start()
  } catch (error) {
    await engine.close()
    throw error
  }
  log.info?.(startupLine(options, first, bundles.poolStats().threads), 'SSR engine started')
  return engine
}
