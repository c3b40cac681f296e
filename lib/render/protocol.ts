/** What crosses the thread boundary between the main thread and a render worker. */

/** Given to every worker at start: the bundle is read once by the main thread so all workers run the same bytes. */
export interface WorkerData {
  bundlePath: string
  source: string
  renderFunction: string
  globals: Record<string, unknown>
  /** V8 code cache made by the main thread's syntax check, so workers skip most of the compile. */
  cachedData: Uint8Array | null
}

export type RenderTask =
  | { kind: 'render', url: string, data: unknown }
  /** Asks a worker whether its bundle loaded; answered without rendering. */
  | { kind: 'check' }

export type PageHeaders = Record<string, string | string[]>

/** When the worker picked the task up (ms since the epoch, sub-ms precision) and how long it rendered. */
export interface RenderTiming {
  startedAt: number
  renderMs: number
}

export interface RenderSuccess {
  ok: true
  html: string
  status: number
  headers: PageHeaders
  timing?: RenderTiming
}

export interface RenderFailure {
  ok: false
  /** load: the bundle never loaded; render: it threw or rejected; result: it returned something unsendable. */
  reason: 'load' | 'render' | 'result'
  message: string
  stack?: string
  timing?: RenderTiming
}

export type RenderOutcome = RenderSuccess | RenderFailure
