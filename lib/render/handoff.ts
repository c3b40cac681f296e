import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'

/**
 * Spinning instead of sleeping at a hand-over between threads. A thread that waits for a message sleeps, and the
 * message wakes it: on a virtual machine that wake costs tens of µs of CPU (on this project's 2-CPU VM a bare
 * postMessage round trip between two sleeping threads cost 83 µs of CPU; bench:pool's pool-1 against pool-1-nospin,
 * one product page at a time, in three runs: 0.49×, 0.86× and 0.90× the CPU, 3.55×, 1.66× and 1.21× the rate;
 * bench/RESULTS.md has the latest). So a worker that has just replied polls for its next task for a few µs before
 * it sleeps, and the main thread, while a render it expects back within that window runs, keeps its event loop
 * turning (still serving I/O) and looks for the reply between turns. Both give up after `spinUs`: an idle server sleeps as before.
 * Without a CPU to spare there is nothing to gain: the thread waited for cannot run while the other spins.
 */

/**
 * The default window: 50 µs when the process may use more CPUs than it has render workers, so that each thread that
 * polls has a CPU of its own; else 0. With as many workers as CPUs, a polling main thread takes CPU time from the
 * renders it waits for; measured on this project's 2-CPU VM the effect was within the noise either way (two workers
 * with polling: 0.78× the product rate in one alternated comparison, 1.20× in a bench:pool run, 0.96× on the
 * listing), so the default stays on the side that cannot starve a render.
 */
export function defaultSpinUs (threads: number): number {
  return threads < availableParallelism() ? 50 : 0
}

/** Calls `look` until it returns something or `spinUs` have passed (synchronously: the caller's thread is held). */
export function spinFor<T> (spinUs: number, look: () => T | undefined): T | undefined {
  if (spinUs <= 0) return undefined
  const until = performance.now() + spinUs / 1000
  do {
    const found = look()
    if (found !== undefined) return found
  } while (performance.now() < until)
  return undefined
}

/** Longest the main thread is held at once while it spins: between two holds, its event loop turns once. */
const holdUs = 10

/**
 * The main thread's side. `poll` handles whatever replies have arrived and says whether any render is still out.
 * The pool calls started() when a worker begins a task; the poller spins only while renders are typically shorter
 * than its window (`typicalRenderMs`, the pool's running estimate), so a long render costs one wake, never a long spin.
 */
export class ReplyPoller {
  readonly #spinUs: number
  readonly #poll: () => boolean
  /** Until when (performance.now() ms) the main thread spins, from the last task that started. */
  #until = 0
  #scheduled: NodeJS.Immediate | null = null
  /** How long a render typically takes in a worker, ms; null before the first reply (spin to learn it). */
  readonly #typicalRenderMs: () => number | null

  constructor (spinUs: number, poll: () => boolean, typicalRenderMs: () => number | null) {
    this.#spinUs = spinUs
    this.#poll = poll
    this.#typicalRenderMs = typicalRenderMs
  }

  /** A worker has begun a task: its reply is awaited awake if renders are short enough. */
  started (): void {
    if (this.#spinUs <= 0 || (this.#typicalRenderMs() ?? 0) * 1000 > this.#spinUs) return
    this.#until = performance.now() + this.#spinUs / 1000
    this.#scheduled ??= setImmediate(this.#turn)
  }

  stop (): void {
    if (this.#scheduled !== null) clearImmediate(this.#scheduled)
    this.#scheduled = null
    this.#until = 0
  }

  readonly #turn = (): void => {
    this.#scheduled = null
    const hold = Math.min(this.#until, performance.now() + holdUs / 1000)
    let waiting = this.#poll()
    while (waiting && performance.now() < hold) waiting = this.#poll()
    // A reply handled above may have started the next task, which scheduled a turn already.
    if (waiting && this.#scheduled === null && performance.now() < this.#until) this.#scheduled = setImmediate(this.#turn)
  }
}
