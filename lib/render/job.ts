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
    cancel: undefined,
    onCancel: undefined,
    slot: null,
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
 * The job's cancel signal, listened to from now on (once): only a job that has to wait reads it, so most are handed
 * over at once and never make one or listen. Undefined without one.
 */
export function listenForCancel (job: Job, cancelled: (reason: unknown) => void): AbortSignal | undefined {
  const signal = job.cancel ?? job.cancelSource?.signal
  if (signal === undefined || signal.aborted || job.onCancel !== undefined) return signal
  job.cancel = signal
  job.onCancel = () => cancelled(signal.reason)
  signal.addEventListener('abort', job.onCancel, { once: true })
  return signal
}

/** Marks a job settled: its deadline timer and cancel listener go. */
export function settleJob (job: Job): void {
  job.settled = true
  clearTimeout(job.timer)
  if (job.onCancel !== undefined) {
    job.cancel?.removeEventListener('abort', job.onCancel)
    job.onCancel = undefined
  }
}
