import { workerData } from 'piscina'
import type { RenderOutcome, RenderTask, WorkerData } from './protocol'
import { createSandbox, type Sandbox } from './sandbox'
import { InvalidResultError, normalizeRenderResult } from './result'

const { bundlePath, source, renderFunction, globals, cachedData } = workerData as WorkerData

let sandbox: Sandbox | null = null
let loadError: RenderOutcome | null = null

// Loaded once, when the worker starts. A failure is kept and reported to every task, so the main thread can
// refuse to start rather than have piscina respawn a worker that can never work.
try {
  sandbox = createSandbox({
    source,
    filename: bundlePath,
    renderFunction,
    globals,
    cachedData: cachedData === null ? undefined : Buffer.from(cachedData.buffer, cachedData.byteOffset, cachedData.byteLength)
  })
} catch (error) {
  loadError = failure('load', error)
}

function failure (reason: 'load' | 'render' | 'result', error: unknown): RenderOutcome {
  // Errors from the bundle belong to another realm: read them by shape, not with instanceof.
  const { message, stack } = (error !== null && typeof error === 'object') ? error as { message?: unknown, stack?: unknown } : {}
  return {
    ok: false,
    reason,
    message: typeof message === 'string' ? message : String(error),
    stack: typeof stack === 'string' ? stack : undefined
  }
}

function now (): number {
  // timeOrigin + now() is comparable across threads of one process, so the main thread can derive queue wait.
  return performance.timeOrigin + performance.now()
}

export default async function run (task: RenderTask): Promise<RenderOutcome> {
  if (sandbox === null) return loadError as RenderOutcome
  if (task.kind === 'check') return { ok: true, html: '', status: 200, headers: {} }
  const startedAt = now()
  const outcome = await render(sandbox, task.url, task.data)
  outcome.timing = { startedAt, renderMs: now() - startedAt }
  return outcome
}

async function render (sandbox: Sandbox, url: string, data: unknown): Promise<RenderOutcome> {
  let value: unknown
  try {
    value = await sandbox.render(url, data)
  } catch (error) {
    return failure('render', error)
  }
  try {
    return normalizeRenderResult(value)
  } catch (error) {
    return failure(error instanceof InvalidResultError ? 'result' : 'render', error)
  }
}
