// One variant of `npm run bench:pool` in a fresh process: `node bench/pool-runner.mjs '<job json>'`, started by
// bench/pool.mjs, never by hand. Prints one JSON line with its figures. The variants, all rendering the React
// example's product page with the route's data:
//   in-thread  the same server bundle in a node:vm context in this thread, through the plugin's own sandbox and body
//              encoding (dist/render/sandbox.js, dist/render/encode.js): exactly a worker's work, without the pool
//   pool-<n>   the built plugin on a Fastify app that never listens, `fastify.ssr.render(url, data, { cache: false })`
//              with n worker threads: the whole render path of a cache miss but HTTP
//   pool-1-static  the same with 1 thread and a bundle that returns the page as a constant: the pool's own cost
//   naive      renderToString of the same components in this thread (bench/naive-app.jsx), what users do today
// Each variant: warm-up, then `concurrency` renders kept in flight for `duration` seconds (renders per second, CPU used
// by the process, the main thread's event-loop utilization; pool.mjs gives the in-thread variants 1: a plain loop),
// then one render at a time for `latencySeconds` seconds (latency per render).

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { pages } from './lib/pages.mjs'
import { percentile } from './lib/stats.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../', import.meta.url))
const job = JSON.parse(process.argv[2])
const { renderUrl: pageUrl, data: pageData } = pages.product

async function renderer () {
  if (job.variant === 'in-thread') {
    const { createSandbox } = require(`${root}dist/render/sandbox.js`)
    const { encodeBodies } = require(`${root}dist/render/encode.js`)
    const { normalizeRenderResult } = require(`${root}dist/render/result.js`)
    const sandbox = createSandbox({ source: readFileSync(job.bundle, 'utf8'), filename: job.bundle, renderFunction: 'renderPage', globals: {} })
    return {
      threads: 0,
      // What a worker does for an uncached render (dist/render/worker.js): render, check the result, encode the body.
      render: async () => encodeBodies(normalizeRenderResult(await sandbox.render(pageUrl, pageData())).html, null),
      close: async () => {}
    }
  }
  if (job.variant === 'naive') {
    const { renderPage } = require(job.naiveBundle)
    return { threads: 0, render: () => renderPage(pageUrl, pageData()), close: async () => {} }
  }
  const [, count, kind] = job.variant.match(/^pool-(\d+)(-static)?$/)
  const Fastify = require('fastify')
  const app = Fastify({ logger: false })
  await app.register(require(root), { bundle: kind === undefined ? job.bundle : job.staticBundle, threads: Number(count) })
  await app.ready()
  return {
    threads: app.ssr.metrics().pool.threads,
    render: () => app.ssr.render(pageUrl, pageData(), { cache: false }),
    close: () => app.close()
  }
}

/** utime + stime in clock ticks, from /proc/self/stat or /proc/self/task/<id>/stat; null where there is no /proc. */
function ticks (path) {
  try {
    const stat = readFileSync(path, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

/** CPU ticks of the main thread (its task id is the process id) and of the whole process, for the main thread's share. */
function cpuTicks () {
  return { main: ticks(`/proc/self/task/${process.pid}/stat`), all: ticks('/proc/self/stat') }
}

/** Keeps `concurrency` renders in flight for `seconds`; renders per second and what the process used meanwhile. */
async function throughput (render, concurrency, seconds) {
  let renders = 0
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const threadTicks = cpuTicks()
  const start = performance.now()
  const end = start + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await render()
      renders++
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  const usedUs = used.user + used.system
  const { main, all } = cpuTicks()
  // CPU time is what a render costs whatever else runs on the machine; wall-clock figures suffer when it is busy.
  const mainShare = main === null || all === null || all === threadTicks.all ? null : (main - threadTicks.main) / (all - threadTicks.all)
  return {
    renders,
    seconds: elapsed,
    rendersPerSecond: renders / elapsed,
    // CPU time of every thread of the process over wall time: how many cores it kept busy.
    cpuCores: usedUs / 1e6 / elapsed,
    cpuUsPerRender: usedUs / renders,
    mainThreadCpuUsPerRender: mainShare === null ? null : mainShare * usedUs / renders,
    mainThreadUtilization: performance.eventLoopUtilization(elu).utilization
  }
}

/** One render at a time for `seconds`: the latency of a single render, in ms. */
async function latency (render, seconds) {
  const samples = []
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    const start = performance.now()
    await render()
    samples.push(performance.now() - start)
  }
  return { count: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), meanMs: samples.reduce((a, b) => a + b, 0) / samples.length }
}

const subject = await renderer()
if (job.warmup > 0) await throughput(subject.render, job.concurrency, job.warmup)
const measured = await throughput(subject.render, job.concurrency, job.duration)
const single = await latency(subject.render, job.latencySeconds)
await subject.close()
console.log('BENCH_POOL ' + JSON.stringify({ variant: job.variant, threads: subject.threads, ...measured, latency: single }))
// The in-thread sandbox holds a MessageChannel (React's scheduler) that would keep this process alive.
process.exit(0)
