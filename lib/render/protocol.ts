import { performance } from 'node:perf_hooks'
import type { CompressionSettings } from './encode'

/** What crosses the thread boundary between the main thread and a render worker. */

/**
 * Milliseconds since the epoch from the calling thread's monotonic clock. Every thread's time origin is taken from
 * the same wall clock, so readings compare across the main thread and its workers (to well under a millisecond).
 */
export function sharedClock (): number {
  return performance.timeOrigin + performance.now()
}

/** Given to every worker at start: the bundle is read once by the main thread so all workers run the same bytes. */
export interface WorkerData {
  /** How pages to be cached are compressed, or null when compression is off. */
  compression: CompressionSettings | null
  bundlePath: string
  source: string
  renderFunction: string
  globals: Record<string, unknown>
  /** Whether the sandbox has inert browser globals (`window`, `document`, …); see polyfills.ts. */
  browserGlobals: boolean
  /** V8 code cache made by the main thread's syntax check, so workers skip most of the compile. */
  cachedData: Uint8Array | null
  /** BroadcastChannel on which the pool orders a worker that rendered its share to exit; null without recycling. */
  retireChannel: string | null
}

export type RenderTask =
  /** `deadline` is in ms since the epoch and counts the queue wait: past it the worker does not render at all. */
  | { kind: 'render', url: string, data: unknown, deadline: number, compress: boolean }
  /** Asks a worker whether its bundle loaded; answered without rendering. */
  | { kind: 'check' }

/** A task as the pool posts it: with an id the worker echoes in `TaskStarted`. */
export type PostedTask = RenderTask & { id: number }

/**
 * Posted by a worker on its parent port as it takes a render off the queue, before any bundle code runs: from then
 * on the task can only be stopped with its worker. It travels apart from the reply, which may overtake it.
 */
export interface TaskStarted {
  taskStarted: number
}

export function isTaskStarted (message: unknown): message is TaskStarted {
  return typeof message === 'object' && message !== null && typeof (message as TaskStarted).taskStarted === 'number'
}

export type PageHeaders = Record<string, string | string[]>

/** A page's bodies as they cross threads (transferred, not copied); br and gzip exist when the task asked. */
export interface PageBodies {
  identity: Uint8Array
  br: Uint8Array | null
  gzip: Uint8Array | null
}

export interface RenderSuccess {
  ok: true
  status: number
  headers: PageHeaders
  bodies: PageBodies
  /** Strong ETag of the identity body. */
  etag: string
}

export interface RenderFailure {
  ok: false
  /**
   * load: the bundle never loaded; render: it threw or rejected; result: it returned something unsendable;
   * expired: the task reached its worker after its deadline and was not rendered.
   */
  reason: 'load' | 'render' | 'result' | 'expired'
  message: string
  stack?: string
}

export type RenderOutcome = RenderSuccess | RenderFailure

/**
 * A worker's reply to a task: the outcome, when the worker took the task off the queue (`sharedClock`), how many
 * milliseconds the task took in the worker, and which worker it was.
 */
export interface TaskReply {
  outcome: RenderOutcome
  startedAt: number
  renderMs: number
  /** The worker that ran the task; recycling counts its renders by it. */
  threadId: number
}
