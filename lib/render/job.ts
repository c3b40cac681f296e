import { performance } from 'node:perf_hooks'
import type { Wait } from '../tracing'
import type { CancelSource } from './pool-types'
import type { RenderOutcome, RenderTask } from './protocol'
import type { WorkerSlot } from './slot'

/** One render task as the pool tracks it, from run() until it settles: where it is, how it ends, who waits. */
export interface Job {
  readonly task: RenderTask
  readonly resolve: (outcome: RenderOutcome) => void
  readonly reject: (error: Error) => void
  readonly submittedAt: number
  timer: NodeJS.Timeout | undefined
  /** Where a cancel signal comes from; read only if the job has to wait. */
  readonly cancelSource: { readonly signal?: AbortSignal } | undefined
  cancel: AbortSignal | undefined
  onCancel: (() => void) | undefined
  slot: WorkerSlot | null
  /** In the pool's queue, waiting for a worker. */
  queued: boolean
  settled: boolean
  /** Its wait on the queue channel, while queued and traced (see tracing.ts). */
  wait: Wait | null
}

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
