import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { encodeBodies } from './encode'
import { BodyForm, type RenderFailure, type RenderOutcome, type RenderTask, type TaskReply, type WorkerData, type WorkerReady } from './protocol'
import { pinCurrentThread } from './pinning'
import { createSandbox, type Sandbox } from './sandbox'
import { InvalidResultError, normalizeRenderResult } from './result'

// A render worker (see pool.ts): loads the bundle once, then answers each task the pool posts with one reply. The
// pool posts a task only to an idle worker, so tasks never overlap here; between them the event loop runs as usual,
// so a bundle's timers fire as they would in a browser.

const { bundlePath, source, renderFunction, globals, browserGlobals, cachedData, compression, pinCpu } = workerData as WorkerData
const port = parentPort as NonNullable<typeof parentPort>

// Before the bundle loads, so its compiled code and heap start out on the CPU they will run on.
let pinned: WorkerReady['pinned']
if (pinCpu !== undefined && pinCpu !== null) {
  const failed = pinCurrentThread(pinCpu)
  pinned = failed === null ? { cpu: pinCpu } : { failed }
}

let sandbox: Sandbox | null = null
let loadFailure: RenderFailure | null = null

// A load failure is reported once at start (the pool refuses to start on it) and to every task after, so a
// replacement worker that cannot load answers with errors instead of being respawned in a loop.
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
  loadFailure = failure('load', error)
}
port.postMessage({ ready: true, failure: loadFailure, pinned } satisfies WorkerReady)

function failure (reason: RenderFailure['reason'], error: unknown): RenderFailure {
  // Errors from the bundle belong to another realm: read them by shape, not with instanceof.
  const { message, stack } = (error !== null && typeof error === 'object') ? error as { message?: unknown, stack?: unknown } : {}
  return {
    ok: false,
    reason,
    message: typeof message === 'string' ? message : String(error),
    stack: typeof stack === 'string' ? stack : undefined
  }
}

port.on('message', (task: RenderTask) => {
  const started = performance.now()
  perform(task).then((outcome) => {
    const reply: TaskReply = [task[0], outcome, performance.now() - started]
    // The bodies' memory moves with the message instead of being copied.
    if (outcome.ok && typeof outcome.body !== 'string') port.postMessage(reply, transferList(outcome))
    else port.postMessage(reply)
  }, (error: unknown) => {
    port.postMessage([task[0], failure('render', error), performance.now() - started] satisfies TaskReply)
  })
})

function transferList (outcome: RenderOutcome & { ok: true }): ArrayBuffer[] {
  const list = [(outcome.body as Uint8Array).buffer as ArrayBuffer]
  if (outcome.br !== null) list.push(outcome.br.buffer as ArrayBuffer)
  if (outcome.gzip !== null) list.push(outcome.gzip.buffer as ArrayBuffer)
  return list
}

async function perform ([, url, data, deadline, form]: RenderTask): Promise<RenderOutcome> {
  if (sandbox === null) return loadFailure as RenderFailure
  // The main thread's timer drops a task still queued at its deadline, but only once its event loop gets round to
  // it; a task handed over just before is answered here without running bundle code, so a request that waited
  // past its deadline is never rendered.
  if (Date.now() >= deadline) {
    return { ok: false, reason: 'expired', message: 'the render deadline passed while the task waited for a thread' }
  }
  let value: unknown
  try {
    value = await sandbox.render(url, data)
  } catch (error) {
    return failure('render', error)
  }
  let result
  try {
    result = normalizeRenderResult(value)
  } catch (error) {
    return failure(error instanceof InvalidResultError ? 'result' : 'render', error)
  }
  const { html, status, headers } = result
  if (form === BodyForm.text) return { ok: true, status, headers, body: html, br: null, gzip: null, etag: null }
  // Compressed once here, off the main thread, and only for pages the main thread may cache and serve again.
  const { identity, br, gzip, etag } = encodeBodies(html, form === BodyForm.compressed ? compression : null)
  return { ok: true, status, headers, body: identity, br, gzip, etag }
}
