// CPU time per thread, from /proc/self/task (Linux): the main thread's, the render workers' and the rest (V8's GC
// and compiler helpers, libuv's pool). Node reports only the whole process (process.cpuUsage()); a figure per thread
// shows which side of the thread boundary a cost is on. Counted in clock ticks (utime + stime), so a figure is exact
// to one tick (10 ms) over the whole measured run. Everything returns null where /proc is missing.

import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'

/** Clock ticks per second (USER_HZ), the unit of /proc's utime and stime. */
export const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Ids of this process's threads; the main thread's is the process id. */
export function threadIds () {
  try {
    return readdirSync('/proc/self/task').map(Number)
  } catch {
    return null
  }
}

/** utime + stime of one thread (or of the whole process with `tid` null), in ticks. */
export function threadTicks (tid) {
  try {
    const stat = readFileSync(tid === null ? '/proc/self/stat' : `/proc/self/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

/** The CPUs a thread may run on, as /proc lists them ("0", "0-1"). */
export function threadAffinity (tid) {
  try {
    return readFileSync(`/proc/self/task/${tid}/status`, 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1].trim() ?? null
  } catch {
    return null
  }
}

/**
 * Starts libuv's thread pool (it starts on first use, all its threads at once), so that the threads appearing after
 * this are the ones a plugin starts: its render workers.
 */
export async function startLibuvPool () {
  await readFile('/proc/self/stat')
}

/**
 * Watches the threads that appear between now and `settle(expected)`: call it before starting a pool of `expected`
 * worker threads and settle once the pool is ready. Then `sample()` returns the CPU ticks of the main thread and of
 * those new threads; their sum is null when the new threads were not exactly `expected` (something else started a
 * thread: reporting nothing beats reporting it as a worker).
 */
export function watchNewThreads () {
  const before = new Set(threadIds() ?? [])
  let workers = []
  return {
    settle (expected) {
      const found = (threadIds() ?? []).filter((tid) => !before.has(tid))
      workers = expected === 0 ? [] : found.length === expected ? found : null
      return found.length
    },
    get workerIds () {
      return workers ?? []
    },
    sample () {
      const main = threadTicks(process.pid)
      if (workers === null) return { main, workers: null }
      const workerTicks = workers.map(threadTicks)
      // A worker thread that ended since settle() has left /proc with its ticks: null, not a smaller sum.
      return { main, workers: workerTicks.some((value) => value === null) ? null : workerTicks.reduce((a, b) => a + b, 0) }
    }
  }
}

/** µs of CPU from a difference of ticks. */
export function ticksToUs (ticks) {
  return ticks === null ? null : ticks * 1e6 / ticksPerSecond
}
