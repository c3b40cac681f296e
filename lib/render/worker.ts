import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { BodyForm, Control, nextCount, skipEntry, type PostedTask, type RenderFailure, type RenderOutcome, type RenderTask, type TaskReply, type WorkerData, type WorkerReady } from './protocol'
import { FrozenStore } from './frozen-store'
import { spinFor } from './handoff'
import { pinCurrentThread } from './pinning'
import { createSandbox, type Sandbox } from './sandbox'
import { failure, performTask } from './perform'
import { utf8Bytes } from './encode'
import { RingWriter } from './body-ring'

// A render worker (see pool.ts): loads the bundle once, then answers each task the pool posts with one reply, one
// task at a time; between them the event loop runs as usual, so a bundle's timers fire as they would in a browser.

const { bundlePath, source, renderFunction, globals, browserGlobals, cachedData, compression, pinCpu, port: taskPort, control: controlBuffer, ring, spinUs = 0 } = workerData as WorkerData
const port = taskPort as MessagePort
// Shared with the pool: see Control in protocol.ts.
const control = new Int32Array(controlBuffer as SharedArrayBuffer)
const ringWriter = ring === undefined ? null : new RingWriter(ring)

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

// Tasks arrive one at a time, or several behind the running one while renders wait (up to pipelineDepth in all);
// they run in order, one at a time, and the next starts as soon as the previous reply is posted. A task's number,
// its place in the order of posts, is how the pool withdraws it (Control in protocol.ts).
const tasks: PostedTask[] = []
/** The frozen data the pool sent once (frozen-send.ts). */
const frozen = new FrozenStore()
let running = false
/** Tasks taken from the port, by its 'message' event or while spinning: the pool's posted count says if one waits. */
let received = 0
/** The number of the task nextTask() returned last. */
let taken = 0

port.on('message', (task: PostedTask) => {
  received = nextCount(received)
  tasks.push(task)
  if (!running) runTasks().catch(() => {})
})

/** The next task: one queued, else one the pool posts within `spinUs` (polled for, so this thread does not sleep). */
function nextTask (): PostedTask | undefined {
  if (tasks.length > 0) {
    // The queued tasks are the last ones received, in order.
    taken = (received - tasks.length + 1) | 0
    return tasks.shift()
  }
  return spinFor(spinUs, () => {
    if (Atomics.load(control, Control.posted) === received) return undefined
    const entry = receiveMessageOnPort(port)
    if (entry === undefined) return undefined
    received = nextCount(received)
    taken = received
    return entry.message as PostedTask
  })
}

function reply (message: TaskReply, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer)
  // After the message, so that a main thread that sees the count move finds the reply in its port.
  Atomics.add(control, Control.replied, 1)
}

async function runTasks (): Promise<void> {
  running = true
  for (let posted = nextTask(); posted !== undefined; posted = nextTask()) {
    const id = posted[0]
    // Read before anything else, skipped and expired tasks too: the frozen values they carry are this worker's now.
    let task: RenderTask
    try {
      task = [id, posted[1], frozen.dataOf(posted), posted[3], posted[4]]
    } catch (error) {
      reply([id, failure('render', error), 0])
      continue
    }
    // Said before the check, so that the pool, which sets the skip entry before it reads this, never misses both.
    Atomics.store(control, Control.started, taken)
    if (Atomics.load(control, skipEntry(taken)) === taken) {
      reply([id, { ok: false, reason: 'skipped', message: 'withdrawn before it started' }, 0])
      continue
    }
    const started = performance.now()
    let outcome: RenderOutcome
    try {
      outcome = await perform(task)
    } catch (error) {
      outcome = failure('render', error)
    }
    // A page sent once goes as bytes, which the main thread writes as they are (see BodyForm): in the ring if they fit.
    if (outcome.ok && task[4] === BodyForm.once && typeof outcome.body === 'string') onceBytes(outcome)
    // The bodies' memory moves with the message instead of being copied.
    reply([id, outcome, performance.now() - started], outcome.ok && typeof outcome.body !== 'string' ? transferList(outcome) : undefined)
  }
  running = false
}

function onceBytes (outcome: RenderOutcome & { ok: true }): void {
  const html = outcome.body as string
  const region = ringWriter?.write(html) ?? null
  if (region === null) {
    outcome.body = utf8Bytes(html)
    return
  }
  outcome.body = ''
  outcome.ring = region
}

function transferList (outcome: RenderOutcome & { ok: true }): ArrayBuffer[] {
  const list = [(outcome.body as Uint8Array).buffer as ArrayBuffer]
  if (outcome.br !== null) list.push(outcome.br.buffer as ArrayBuffer)
  if (outcome.gzip !== null) list.push(outcome.gzip.buffer as ArrayBuffer)
  return list
}

async function perform (task: RenderTask): Promise<RenderOutcome> {
  if (sandbox === null) return loadFailure as RenderFailure
  // The main thread's timer drops a task still queued at its deadline, but only once its event loop gets round to
  // it; a task handed over just before is answered by performTask without running bundle code.
  return await performTask(sandbox, task, compression)
}
