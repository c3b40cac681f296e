// One variant of `npm run bench:pool` in a fresh process: `node bench/pool-runner.mjs '<job json>'`, started by
// bench/pool.mjs, never by hand. Prints one JSON line with its figures. The variants, each rendering one page of
// bench/lib/pages.mjs with its route's data:
//   in-thread  the same server bundle in a node:vm context in this thread, through the plugin's own sandbox and result
//              check (dist/render/sandbox.js, dist/render/result.js): exactly what a worker does for an uncached
//              `fastify.ssr.render(url, data, { cache: false })` (the page comes back as text), without the pool
//   pool-<n>   the built plugin on a Fastify app that never listens, `fastify.ssr.render(url, data, { cache: false })`
//              with n worker threads: the whole render path of a miss but HTTP
//   pool-1-static  the same with 1 thread and a bundle that returns the page as a constant: the pool's own cost
//   pool-1-nospin  pool-1 with `handoffSpinUs: 0` (no polling at a hand-over, lib/render/handoff.ts)
//   pool-2-spin    pool-2 with `handoffSpinUs: 50` (polling although every CPU has a worker: off by default)
//   naive      renderToString of the same components in this thread (bench/naive-app.jsx), what users do without us
// Each variant: warm-up, then `concurrency` renders kept in flight for `duration` seconds (a closed loop: each of the
// `concurrency` callers starts its next render when its last one resolves). Reported: renders per second, the time of
// each render as its caller saw it, and CPU per render: the whole process (process.cpuUsage()), the main thread and
// the render workers (/proc/self/task; the workers are the threads that appeared while the pool started).

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { pages } from './lib/pages.mjs'
import { percentile } from './lib/stats.mjs'
import { startLibuvPool, ticksToUs, watchNewThreads } from './lib/threads.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../', import.meta.url))
const job = JSON.parse(process.argv[2])
const page = pages[job.page]

async function renderer (threads) {
  if (job.variant === 'in-thread') {
    const { createSandbox } = require(`${root}dist/render/sandbox.js`)
    const { normalizeRenderResult } = require(`${root}dist/render/result.js`)
    const sandbox = createSandbox({ source: readFileSync(job.bundle, 'utf8'), filename: job.bundle, renderFunction: 'renderPage', globals: {} })
    threads.settle(0)
    return {
      threads: 0,
      render: async () => normalizeRenderResult(await sandbox.render(page.renderUrl, page.data())).html,
      close: async () => {}
    }
  }
  if (job.variant === 'naive') {
    const { renderPage } = require(job.naiveBundle)
    threads.settle(0)
    return { threads: 0, render: () => renderPage(page.renderUrl, page.data()), close: async () => {} }
  }
  const [, count, kind] = job.variant.match(/^pool-(\d+)(-static|-nospin|-spin)?$/)
  const Fastify = require('fastify')
  const app = Fastify({ logger: false })
  await app.register(require(root), {
    bundle: kind === '-static' ? job.staticBundle : job.bundle,
    threads: Number(count),
    ...(kind === '-nospin' ? { handoffSpinUs: 0 } : kind === '-spin' ? { handoffSpinUs: 50 } : {})
  })
  await app.ready()
  const poolThreads = app.ssr.metrics().pool.threads
  const found = threads.settle(poolThreads)
  return {
    threads: poolThreads,
    workerThreadsFound: found,
    render: () => app.ssr.render(page.renderUrl, page.data(), { cache: false }),
    close: () => app.close()
  }
}

/** Keeps `concurrency` renders in flight for `seconds`; renders per second, their times and the CPU they took. */
async function throughput (subject, threads, concurrency, seconds) {
  const samples = []
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const ticks = threads.sample()
  const start = performance.now()
  const end = start + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const begun = performance.now()
      await subject.render()
      samples.push(performance.now() - begun)
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  const after = threads.sample()
  const renders = samples.length
  const usedUs = used.user + used.system
  const perRender = (before, now) => before === null || now === null ? null : ticksToUs(now - before) / renders
  const mainUs = perRender(ticks.main, after.main)
  const workersUs = subject.threads === 0 ? 0 : perRender(ticks.workers, after.workers)
  return {
    renders,
    seconds: elapsed,
    rendersPerSecond: renders / elapsed,
    // CPU time of every thread of the process over wall time: how many cores it kept busy.
    cpuCores: usedUs / 1e6 / elapsed,
    cpuUsPerRender: usedUs / renders,
    mainThreadCpuUsPerRender: mainUs,
    workerCpuUsPerRender: workersUs,
    // V8's helper threads (GC, compiler) and libuv's: the whole process less the main thread and the workers.
    otherCpuUsPerRender: mainUs === null || workersUs === null ? null : Math.max(0, usedUs / renders - mainUs - workersUs),
    mainThreadUtilization: performance.eventLoopUtilization(elu).utilization,
    latency: { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) }
  }
}

await startLibuvPool()
const threads = watchNewThreads()
const subject = await renderer(threads)
if (job.warmup > 0) await throughput(subject, threads, job.concurrency, job.warmup)
const measured = await throughput(subject, threads, job.concurrency, job.duration)
await subject.close()
console.log('BENCH_POOL ' + JSON.stringify({
  variant: job.variant,
  page: job.page,
  concurrency: job.concurrency,
  threads: subject.threads,
  workerThreadsFound: subject.workerThreadsFound ?? 0,
  ...measured
}))
// The in-thread sandbox and the naive renderer hold a MessageChannel (React's) that would keep this process alive.
process.exit(0)
