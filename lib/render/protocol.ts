import type { MessagePort } from 'node:worker_threads'
import type { BodyLease, PageHeaders } from '../page'
import type { RingRegion } from './body-ring'
import type { CompressionSettings } from './encode'

/**
 * What crosses the thread boundary between the main thread and a render worker. Every message is one
 * `postMessage`; the shapes are tuples because structured cloning writes an array's items without their names.
 */

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
  /** The CPU this worker pins itself to (`pinThreads`), or null to run wherever the scheduler puts it. */
  pinCpu?: number | null
  /** The port tasks and replies travel on (given to each worker by the pool, see slot.ts). */
  port?: MessagePort
  /** The shared integers of `Control`. */
  control?: SharedArrayBuffer
  /** The memory pages sent once are written into (body-ring.ts); absent: they go transferred. */
  ring?: SharedArrayBuffer
  /**
   * How long (µs) each side of a hand-over polls before its thread sleeps (handoff.ts): the worker for its next task
   * after a reply, the pool for a short render's reply. 0 or absent: never.
   */
  spinUs?: number
}

export type { PageHeaders } from '../page'

/** The most tasks a worker holds at once: the one it runs and those posted behind it (see pool.ts). */
export const pipelineDepth = 16

/**
 * The shared integers of WorkerData.control, by index. Each task a slot posts has a number, its place in the order
 * of that slot's posts (1, 2, …, as `posted` counts them). started: the number of the task the worker took up last
 * (to run, skip or drop it); posted: how many tasks the pool has posted; replied: how many replies the worker has
 * sent; then `pipelineDepth` skip entries: a task the pool withdraws has its number stored at `skip + number %
 * pipelineDepth` (no two tasks a worker holds share an entry). The counts let either side, while it spins instead of
 * sleeping (handoff.ts), see that a message waits without turning its event loop.
 */
export const Control = Object.freeze({ started: 0, posted: 1, replied: 2, skip: 3, length: 3 + pipelineDepth } as const)

/** Where in Control the pool withdraws the task with post number `number`. */
export function skipEntry (number: number): number {
  return Control.skip + ((number % pipelineDepth) + pipelineDepth) % pipelineDepth
}

/** Whether the task numbered `number` is at or before `latest` in a slot's order (the counts wrap as nextCount does). */
export function reached (latest: number, number: number): boolean {
  return ((latest - number) | 0) >= 0
}

/**
 * A count compared with a shared one, advanced as Atomics.add advances an Int32Array: wrapping at 2³¹ as it does. A
 * plain number would part from the shared count after 2³¹ messages (days for a busy worker), and the side that
 * polls would then think a message waits on every poll.
 */
export function nextCount (count: number): number {
  return (count + 1) | 0
}

/**
 * What the main thread wants back. text: the HTML as a string (`fastify.ssr.render`, which answers a string).
 * once: a page sent once and never stored: from a worker its UTF-8 bytes, which the main thread writes to the socket
 * as they are (a string would cross as a copy and then be encoded by the main thread: ~20 µs of the main thread's
 * time for the listing page), written into the worker's ring (body-ring.ts) or else transferred; with `threads: 0`
 * the string as it is (it is encoded once either way).
 * bytes: UTF-8 bytes and their ETag, transferred (a page to store). compressed: bytes plus brotli and gzip bodies,
 * when the page is worth compressing.
 */
export const BodyForm = Object.freeze({ text: 0, bytes: 1, compressed: 2, once: 3 } as const)
export type BodyForm = typeof BodyForm[keyof typeof BodyForm] // eslint-disable-line @typescript-eslint/no-redeclare

/** A render, as the pool is given it: id, URL, data, deadline (ms since the epoch, queue wait counted), body form. */
export type RenderTask = [id: number, url: string, data: unknown, deadline: number, form: BodyForm]

/**
 * A render as posted to a worker: the task, its data's deeply frozen parts replaced by numbers (frozen-send.ts), and
 * what the worker needs to put them back; null when nothing was replaced and nothing is to be forgotten.
 */
export type PostedTask = [id: number, url: string, data: unknown, deadline: number, form: BodyForm, frozen: FrozenParts | null]

/**
 * root: the number of the whole data when it is one frozen value (the posted data is then null), else 0. keys and
 * ids: the data's own properties that hold a frozen value, and its number (the posted data holds null there).
 * news: number, value, number, value…: the values this worker has not been sent before. forgotten: numbers the
 * worker may drop.
 */
export type FrozenParts = [root: number, keys: string[], ids: number[], news: unknown[], forgotten: number[]]

export interface RenderSuccess {
  ok: true
  status: number
  headers: PageHeaders
  /**
   * The HTML: a string for BodyForm.text (and for BodyForm.once in the main thread), UTF-8 bytes otherwise; empty
   * on its way from a worker that wrote it into the ring (`ring`).
   */
  body: string | Uint8Array
  /** BodyForm.once from a worker: where in its ring the bytes are, if they went there (body-ring.ts). */
  ring?: RingRegion
  /**
   * In the main thread, for a body in the ring: its hold on those bytes. Whoever ends up with the outcome releases
   * it once the bytes are written or dropped; until then the worker does not write there again.
   */
  lease?: BodyLease
  br: Uint8Array | null
  gzip: Uint8Array | null
  /** Strong ETag of the UTF-8 bytes of the HTML; none for BodyForm.text and BodyForm.once (see Page.etag). */
  etag: string | null
}

export interface RenderFailure {
  ok: false
  /**
   * load: the bundle never loaded; render: it threw or rejected; result: it returned something unsendable;
   * expired: the task reached its worker after its deadline and was not rendered; skipped: the pool withdrew it
   * (a cancel or a deadline) before the worker started it.
   */
  reason: 'load' | 'render' | 'result' | 'expired' | 'skipped'
  message: string
  stack?: string
}

export type RenderOutcome = RenderSuccess | RenderFailure

/** A worker's answer to a task, worker → main thread: the task's id, its outcome, and ms spent in the worker. */
export type TaskReply = [id: number, outcome: RenderOutcome, renderMs: number]

/** Posted once by a new worker, before any task: whether the bundle loaded and exposes a render function. */
export interface WorkerReady {
  ready: true
  /** The load failure, or null when the worker can render. */
  failure: RenderFailure | null
  /** Asked to pin itself: the CPU it now runs on, or why it could not (it then runs unpinned). */
  pinned?: { cpu: number } | { failed: string }
}

export function isWorkerReady (message: unknown): message is WorkerReady {
  return typeof message === 'object' && message !== null && (message as WorkerReady).ready === true
}
