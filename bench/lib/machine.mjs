// What a benchmark ran on and how quiet the machine was. Every section of RESULTS.md records this beside its numbers,
// because a figure means nothing without the machine, and little on a machine something else was using.

import { accessSync, constants, readFileSync } from 'node:fs'
import os from 'node:os'
import { delimiter, join } from 'node:path'

function readText (path) {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The CPU model as /proc/cpuinfo names it (os.cpus() when there is no /proc), logical CPUs, memory, OS, Node. */
export function describeMachine () {
  const cpuinfo = readText('/proc/cpuinfo')
  const model = cpuinfo?.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? os.cpus()[0]?.model ?? 'unknown CPU'
  return {
    cpu: model,
    logicalCpus: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8
  }
}

export function machineLine (machine) {
  return `${machine.cpu}, ${machine.logicalCpus} logical CPUs (${machine.availableParallelism} available to Node), ` +
    `${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node} (V8 ${machine.v8})`
}

/** Full path of an executable on PATH, or null. */
export function findCommand (name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return null
}

function cpuTimes () {
  const line = readText('/proc/stat')?.split('\n').find((row) => row.startsWith('cpu '))
  if (line === undefined) return null
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal; idle and iowait are the time nobody wanted the CPU.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
  return { total, idle: fields[3] + (fields[4] ?? 0) }
}

/** Busy and total jiffies of each CPU (/proc/stat's cpuN lines), by CPU number; null without /proc. */
export function perCpuTimes () {
  const text = readText('/proc/stat')
  if (text === null) return null
  const times = new Map()
  for (const line of text.split('\n')) {
    const match = line.match(/^cpu(\d+)\s+(.+)$/)
    if (match === null) continue
    const fields = match[2].trim().split(/\s+/).map(Number)
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
    times.set(Number(match[1]), { total, busy: total - fields[3] - (fields[4] ?? 0) })
  }
  return times
}

/**
 * Share (0 to 1) of the time `cpus` were busy between two perCpuTimes() snapshots, whoever used them: during a load
 * run, a load generator's CPU near 100% means the req/s may be its ceiling, not the server's.
 */
export function busyBetween (before, after, cpus) {
  if (before === null || after === null || cpus === null || cpus.length === 0) return null
  let busy = 0
  let total = 0
  for (const cpu of cpus) {
    const [from, to] = [before.get(cpu), after.get(cpu)]
    if (from === undefined || to === undefined) return null
    busy += to.busy - from.busy
    total += to.total - from.total
  }
  return total <= 0 ? null : busy / total
}

/**
 * Share of all CPUs (0 to 1) busy over `ms` while this benchmark runs nothing: what other processes are using. Taken
 * before and after a run, so a result measured on a busy machine says so. null where /proc/stat does not exist.
 */
export async function sampleCpuBusy (ms = 1000) {
  const before = cpuTimes()
  if (before === null) return null
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = cpuTimes()
  const total = after.total - before.total
  return total <= 0 ? null : Math.max(0, 1 - (after.idle - before.idle) / total)
}

/** Above this share of the machine in use by others before or after a run, its figures are flagged as disturbed. */
export const busyThreshold = 0.1

function parseCpuList (list) {
  const cpus = []
  for (const part of list.trim().split(',')) {
    const [from, to = from] = part.split('-').map(Number)
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu)
  }
  return cpus
}

/**
 * Which CPUs the server and the load generator get. With taskset and at least two CPUs, the load generator takes the
 * last quarter of the allowed CPUs (at least one) and the server, worker threads included, the rest; otherwise no
 * pinning, and the plan says so.
 */
export function cpuPlan () {
  const allowedList = readText('/proc/self/status')?.match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1]
  const allowed = allowedList === undefined ? [] : parseCpuList(allowedList)
  const taskset = findCommand('taskset')
  if (taskset === null || allowed.length < 2) {
    const why = taskset === null ? 'taskset is not installed' : 'fewer than two CPUs are available'
    return { pinned: false, why, taskset, server: null, load: null, loadThreads: Math.max(1, Math.floor(os.availableParallelism() / 4)) }
  }
  const loadCount = Math.max(1, Math.floor(allowed.length / 4))
  const server = allowed.slice(0, allowed.length - loadCount)
  const load = allowed.slice(allowed.length - loadCount)
  return { pinned: true, why: 'taskset', taskset, server, load, loadThreads: load.length }
}

/** The command line that runs `command args` on `cpus` (unpinned when the plan has no pinning). */
export function pinnedCommand (plan, cpus, command, args) {
  if (!plan.pinned || cpus === null) return { command, args }
  return { command: plan.taskset, args: ['-c', cpus.join(','), command, ...args] }
}

export function describePlan (plan) {
  if (!plan.pinned) return `not pinned (${plan.why}): server and load generator share the CPUs`
  return `server process (main thread and its worker threads) pinned to CPU ${plan.server.join(',')}, ` +
    `load generator to CPU ${plan.load.join(',')}, with taskset`
}
