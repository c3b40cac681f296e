import { parentPort, threadId } from 'node:worker_threads'
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina'
import { encodeBodies } from './encode'
import { sharedClock, type PostedTask, type RenderOutcome, type TaskReply, type TaskStarted, type WorkerData } from './protocol'
import { listenForRetirement } from './recycle'
import { createSandbox, type Sandbox } from './sandbox'
import { InvalidResultError, normalizeRenderResult } from './result'

const { bundlePath, source, renderFunction, globals, browserGlobals, cachedData, compression, retireChannel } = workerData as WorkerData

// The order comes only after this worker's last reply reached the pool, so exiting loses nothing; piscina replaces
// the worker (see recycle.ts).
if (retireChannel !== null) listenForRetirement(retireChannel, () => process.exit(0))

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
    browserGlobals,
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
  return transfer({ outcome, startedAt, renderMs: sharedClock() - startedAt, threadId })
}

/** Hands the page's bodies to the main thread without copying them: their memory moves with the message. */
function transfer (reply: TaskReply): TaskReply {
  if (!reply.outcome.ok) return reply
  const { identity, br, gzip } = reply.outcome.bodies
  const buffers = [identity, br, gzip].filter((body) => body !== null).map((body) => body.buffer)
  return move({ [transferableSymbol]: buffers, [valueSymbol]: reply } as never) as unknown as TaskReply
}

async function perform (task: PostedTask): Promise<RenderOutcome> {
  if (sandbox === null) return loadError as RenderOutcome
  if (task.kind === 'check') return { ok: true, status: 200, headers: {}, bodies: { identity: new Uint8Array(0), br: null, gzip: null }, etag: '""' }
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
  let result
  try {
    result = normalizeRenderResult(value)
  } catch (error) {
    return failure(error instanceof InvalidResultError ? 'result' : 'render', error)
  }
  // Compressed once here, off the main thread, and only for pages the main thread may cache and serve again.
  const { identity, br, gzip, etag } = encodeBodies(result.html, task.compress ? compression : null)
  return { ok: true, status: result.status, headers: result.headers, bodies: { identity, br, gzip }, etag }
}
