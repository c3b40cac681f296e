import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'tap'
import { allowedCpus } from '../dist/render/pinning.js'
import { bundle } from './helpers/app'
import { LogWatch, startEngine, type LoggedLine } from './helpers/engine'

/** Kernel threads of this process whose affinity is one CPU, as CPU numbers. */
function singleCpuThreads (): number[] {
  const cpus: number[] = []
  for (const tid of readdirSync('/proc/self/task')) {
    let status = ''
    try {
      status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8')
    } catch {
      continue // the thread ended meanwhile
    }
    const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? ''
    if (/^\d+$/.test(list)) cpus.push(Number(list))
  }
  return cpus.sort()
}

test('pinThreads: each worker pins itself to a CPU of its own, logged; the main thread stays free', { skip: process.platform !== 'linux' && 'thread pinning is Linux-only' }, async (t) => {
  const allowed = allowedCpus() ?? []
  t.ok(allowed.length > 0, `the process may use CPUs ${allowed.join(',')}`)
  const before = singleCpuThreads()
  const watch = new LogWatch()
  const isPin = (line: LoggedLine): boolean => line.message === 'SSR worker pinned to its CPU'
  const { lines } = await startEngine(t, { bundle: bundle('counter.js'), threads: 2, pinThreads: true }, watch.onLog)
  // Each worker pins itself as it starts, before it loads the bundle, and says so once ready.
  if (lines.filter(isPin).length < 2) await watch.next((line) => isPin(line) && lines.filter(isPin).length >= 2)
  const pinned = lines.filter((line) => line.message === 'SSR worker pinned to its CPU').map((line) => (line.object as { cpu: number }).cpu)
  t.equal(pinned.length, 2, 'two workers, two log lines')
  t.same(pinned.sort(), allowed.length >= 2 ? allowed.slice(0, 2) : [allowed[0], allowed[0]], 'spread over the allowed CPUs')
  t.same(singleCpuThreads(), [...before, ...pinned].sort(), 'and the kernel agrees: exactly those threads run on one CPU')
  t.equal(allowedCpus()?.length, allowed.length, 'the process (its main thread) is not pinned')
})

test('without pinThreads nothing is pinned', async (t) => {
  const before = singleCpuThreads()
  const { engine, lines } = await startEngine(t, { bundle: bundle('counter.js'), threads: 2 })
  await engine.serve('/a', undefined, { cache: false })
  t.same(singleCpuThreads(), before)
  t.notOk(lines.some((line) => /pinned/.test(line.message)))
})

test('workers start with the process\'s Node flags, less preloads and loaders', async (t) => {
  const { workerExecArgv } = await import('../dist/render/slot.js')
  t.same(workerExecArgv(['--import=tsx', '--enable-source-maps', '--require', 'dd-trace/init', '-r', 'x', '--cpu-prof', '--loader=./l.mjs', '--max-old-space-size=100']),
    ['--enable-source-maps', '--cpu-prof', '--max-old-space-size=100'])
  t.equal(workerExecArgv(['--expose-gc']), undefined, 'nothing to leave out: the worker inherits them all')
})
