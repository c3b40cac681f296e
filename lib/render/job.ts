import { performance } from 'node:perf_hooks'
import type { CancelSource } from './pool-types'
import type { RenderTask } from './protocol'
import type { Job } from './slot'

/** The record of a task handed to run() (Job is declared in slot.ts, beside the worker that holds it). */
export function newJob (task: RenderTask, resolve: Job['resolve'], reject: Job['reject'], cancel: CancelSource | undefined): Job {
  return {
    task,
    resolve,
    reject,
    submittedAt: performance.now(),
    timer: undefined,
    cancelSource: cancel,
    stopListening: undefined,
    slot: null,
    number: 0,
    withdrawn: null,
    queued: false,
    settled: false,
    wait: null
  }
}

/** Ends a job's traced wait (tracing.ts): it runs now. */
export function endWait (job: Job): void {
  job.wait?.done()
  job.wait = null
}

/**
 * Listens for the job's cancel from now on (once; again after a re-queue, it goes on listening): only a job that has
 * to wait does, so most are handed over at once and never make a signal or listen. `{ reason }` when the job is
 * cancelled already (then `cancelled` is never called), else null.
 */
export function listenForCancel (job: Job, cancelled: (reason: unknown) => void): { reason: unknown } | null {
  const source = job.cancelSource
  if (source === undefined || job.stopListening !== undefined) return null
  if (source.listen !== undefined) {
    const listening = source.listen(cancelled)
    if (typeof listening !== 'function') return listening
    job.stopListening = listening
    return null
  }
  const signal = source.signal
  if (signal === undefined) return null
  if (signal.aborted) return { reason: signal.reason }
  const onAbort = (): void => cancelled(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  job.stopListening = () => signal.removeEventListener('abort', onAbort)
  return null
}

/** Marks a job settled: its deadline timer and cancel listener go. */
export function settleJob (job: Job): void {
  job.settled = true
  clearTimeout(job.timer)
  if (job.stopListening !== undefined) {
    job.stopListening()
    job.stopListening = undefined
  }
}
