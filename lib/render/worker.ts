import { parentPort } from 'node:worker_threads'
import { workerData } from 'piscina'
import { sharedClock, type PostedTask, type RenderOutcome, type TaskReply, type TaskStarted, type WorkerData } from './protocol'
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

export default async function run (task: PostedTask): Promise<TaskReply> {
  const startedAt = sharedClock()
  if (task.kind === 'render') parentPort?.postMessage({ taskStarted: task.id } satisfies TaskStarted)
  const outcome = await perform(task)
  return { outcome, startedAt, renderMs: sharedClock() - startedAt }
}

async function perform (task: PostedTask): Promise<RenderOutcome> {
  if (sandbox === null) return loadError as RenderOutcome
  if (task.kind === 'check') return { ok: true, html: '', status: 200, headers: {} }
  // The main thread's timer drops a task still queued at its deadline, but only once its event loop gets round to
  // it; under load the task may be handed to a worker first. It is answered here without running bundle code, so a
  // request that waited past its deadline is never rendered.
  if (Date.now() >= task.deadline) {
    return { ok: false, reason: 'expired', message: 'the render deadline passed while the task waited for a thread' }
  }
  let value: unknown
  try {
    value = await sandbox.render(task.url, task.data)
  } catch (error) {
    return failure('render', error)
  }
  try {
    return normalizeRenderResult(value)
  } catch (error) {
    return failure(error instanceof InvalidResultError ? 'result' : 'render', error)
  }
}
