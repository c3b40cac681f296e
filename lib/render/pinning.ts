import { execFileSync } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'

/**
 * Thread pinning (`pinThreads: true`, Linux): each render worker runs on a CPU of its own, so the scheduler does not
 * move it between cores and its caches stay warm. No native addon: a worker learns its kernel thread id from
 * /proc/thread-self and sets its own affinity with util-linux's `taskset`. Where that cannot work (another OS, no
 * taskset, a container that forbids it), the worker says why and runs unpinned.
 */

/** The CPUs this process may run on (its affinity mask), in order; null where it cannot be read. */
export function allowedCpus (): number[] | null {
  let status: string
  try {
    status = readFileSync('/proc/self/status', 'utf8')
  } catch {
    return null
  }
  const list = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status)?.[1]
  if (list === undefined) return null
  const cpus: number[] = []
  for (const range of list.split(',')) {
    const [from, to = from] = range.split('-').map(Number)
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu)
  }
  return cpus.length === 0 ? null : cpus
}

/** Pins the calling thread to `cpu`; resolves to null on success, else why it could not. */
export function pinCurrentThread (cpu: number): string | null {
  if (process.platform !== 'linux') return `thread pinning needs Linux, not ${process.platform}`
  let tid: string
  try {
    // "<pid>/task/<tid>": the kernel's id of this very thread.
    tid = readlinkSync('/proc/thread-self').split('/').pop() ?? ''
  } catch (error) {
    return `cannot read /proc/thread-self (${(error as Error).message})`
  }
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), tid], { stdio: 'ignore', timeout: 5000 })
  } catch (error) {
    return `taskset -p -c ${cpu} ${tid} failed (${(error as Error).message})`
  }
  return null
}

/** Of `cpus`, the one with the fewest of `taken` (CPUs workers are pinned to already), the lowest first. */
export function leastLoadedCpu (cpus: readonly number[], taken: Iterable<number | null>): number {
  const load = new Map(cpus.map((cpu) => [cpu, 0]))
  for (const cpu of taken) if (cpu !== null) load.set(cpu, (load.get(cpu) ?? 0) + 1)
  let best = cpus[0]
  for (const cpu of cpus) if ((load.get(cpu) ?? 0) < (load.get(best) ?? 0)) best = cpu
  return best
}
