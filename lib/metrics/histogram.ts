import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'

/** Upper bounds (seconds) of the latency buckets exported to Prometheus: 1 ms to 30 s. */
export const latencyBuckets = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])

export interface LatencySummary {
  count: number
  /** Milliseconds. */
  p50: number
  p90: number
  p99: number
  mean: number
  max: number
}

/**
 * A latency histogram kept two ways: Node's HDR histogram for exact percentiles in JSON, and fixed cumulative
 * buckets for Prometheus, which needs bucket counts rather than percentiles (read at a scrape: latency-metric.ts).
 */
export class LatencyHistogram {
  readonly #hdr: RecordableHistogram = createHistogram()
  readonly #buckets = new Array<number>(latencyBuckets.length).fill(0)
  #count = 0
  #sumSeconds = 0

  record (milliseconds: number): void {
    const ms = Math.max(0, milliseconds)
    // The HDR histogram takes positive integers; record microseconds for sub-millisecond resolution.
    this.#hdr.record(Math.max(1, Math.round(ms * 1000)))
    const seconds = ms / 1000
    this.#count++
    this.#sumSeconds += seconds
    for (let i = 0; i < latencyBuckets.length; i++) if (seconds <= latencyBuckets[i]) this.#buckets[i]++
  }

  summary (): LatencySummary {
    if (this.#count === 0) return { count: 0, p50: 0, p90: 0, p99: 0, mean: 0, max: 0 }
    const ms = (micros: number): number => Math.round(micros) / 1000
    return {
      count: this.#count,
      p50: ms(this.#hdr.percentile(50)),
      p90: ms(this.#hdr.percentile(90)),
      p99: ms(this.#hdr.percentile(99)),
      mean: ms(this.#hdr.mean),
      max: ms(this.#hdr.max)
    }
  }

  /** Cumulative counts per bucket bound, plus count and sum in seconds. */
  buckets (): { bounds: readonly number[], counts: number[], count: number, sum: number } {
    return { bounds: latencyBuckets, counts: [...this.#buckets], count: this.#count, sum: this.#sumSeconds }
  }
}
