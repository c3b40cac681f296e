import { test } from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { JobQueue } from '../dist/render/job-queue.js'
import type { Job } from '../dist/render/slot.js'

// A full collection on demand, without starting tap's processes with --expose-gc.
setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void

/** A job as the queue sees it: only its mark matters to it. */
function job (): Job {
  return { queued: false } as unknown as Job
}

/** Whether the queue still holds a job that left it: the job is only reachable from the queue, if at all. */
async function retained (leave: (queue: JobQueue, first: Job) => void): Promise<boolean> {
  const queue = new JobQueue()
  let first: Job | null = job()
  queue.add(first, false)
  queue.add(job(), false)
  const weak = new WeakRef(first)
  leave(queue, first)
  first = null
  // A WeakRef keeps its target until the current job ends.
  await new Promise((resolve) => setImmediate(resolve))
  collect()
  const kept = weak.deref() !== undefined
  // The queue is still in use, with its other job waiting: so the array it reads from was not dropped.
  if (queue.size !== 1) throw new Error(`expected one job still waiting, found ${queue.size}`)
  return kept
}

test('a job handed to a worker is no longer held by the queue, while others still wait behind it', async (t) => {
  // Once settled, a job's promise holds its outcome (a page's body): kept here, a busy spell kept ~1,024 of them.
  t.notOk(await retained((queue) => {
    t.ok(queue.peek() !== undefined)
    queue.takeOldest()
  }), 'the taken job was collected')
})

test('a job that left early (a cancel) is dropped when the head passes it', async (t) => {
  t.notOk(await retained((queue, first) => {
    queue.leave(first)
    t.ok(queue.peek() !== first, 'peek() skips it')
  }), 'the job that left was collected')
})

test('the queue hands jobs out oldest first, skipping those that left, and lists the ones waiting', async (t) => {
  const queue = new JobQueue()
  const [a, b, c, d] = [job(), job(), job(), job()]
  queue.add(a, false)
  queue.add(b, false)
  queue.add(c, false)
  queue.add(d, true)
  queue.leave(b)
  t.equal(queue.size, 3)
  t.same(queue.waiting(), [d, a, c], 'a job put back first keeps its turn; one that left is not listed')
  const order: Job[] = []
  for (let next = queue.peek(); next !== undefined; next = queue.peek()) {
    order.push(next)
    queue.takeOldest()
  }
  t.same(order, [d, a, c])
  t.equal(queue.size, 0)
  t.same(queue.waiting(), [])
})
