// npm run bench:pool: renders per second through the worker pool, without HTTP, against rendering in one thread.
//
// What runs (bench/pool-runner.mjs, each variant in a fresh process of its own, never pinned: the pool is meant to
// use every CPU):
//   in-thread   the React server bundle in a node:vm context in the main thread, through the plugin's own sandbox:
//               a worker's work without the pool. The baseline.
//   pool-1      the built plugin, 1 worker thread, `fastify.ssr.render(url, data, { cache: false })` on an app that
//               never listens
//   pool-2      the same with 2 threads (the target), and pool-<n> with all n CPUs when there are more than 2
//   pool-1-static  pool-1 with a bundle that returns the same page as a constant: what the pool itself costs
//   naive       renderToString of the same components in the main thread: what users do today, for context
// Where the load comes from: inside each process. The pool variants keep CONCURRENCY renders in flight (closed loop);
// in-thread and naive are plain loops, one render after another (one thread gains nothing from renders in flight
// together). Then one render at a time for the latency. No network is involved.
// Procedure: REPS rounds, each running every variant once, the order rotated by one per round; WARMUP s of renders
// (discarded), DURATION s measured, then LATENCY s of single renders. Medians over rounds; the ratios are medians of
// per-round ratios against the in-thread run of the same round.
// Headline: scaling efficiency = pool-n renders/s ÷ (n × in-thread renders/s). Target (reported, not asserted):
// pool-2 ≥ 1.7 × in-thread. The pool's added latency per render = pool-1's median single-render latency minus
// in-thread's. A missed target gets one extra run of pool-2 under `node --cpu-prof` (all threads; files kept in
// bench/profiles/), summarized in RESULTS.md.
//
// Settings (environment): BENCH_WARMUP=2, BENCH_DURATION=5, BENCH_LATENCY=2 (seconds), BENCH_REPS=3,
// BENCH_CONCURRENCY (default max(16, 4 × CPUs)), BENCH_PROFILE=auto|off|on, BENCH_NOTE="text for the top of
// RESULTS.md". Any non-default setting, or a machine found busy before or after, marks the section as not a result.
// Writes: bench/results.json (key "pool") and the pool section of bench/RESULTS.md.

import { spawn } from 'node:child_process'
import { mkdir, readdir } from 'node:fs/promises'
import os from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareBuild } from './lib/build.mjs'
import { busyThreshold, describeMachine, machineLine, sampleCpuBusy } from './lib/machine.mjs'
import { pages } from './lib/pages.mjs'
import { summarizeProfile } from './lib/profile.mjs'
import { flagsFor, readSettings, writeResultsJson, writeResultsSection, reportWritten, runMain } from './lib/report.mjs'
import {
  formatInt, formatMs, formatPercent, formatRatio, judgeTarget, markdownTable, median, round, spread, textTable
} from './lib/stats.mjs'

const root = fileURLToPath(new URL('../', import.meta.url))
const runner = fileURLToPath(new URL('pool-runner.mjs', import.meta.url))
const pageUrl = pages.product.path

function log (line = '') {
  process.stderr.write(line + '\n')
}

function variantsFor (cpus) {
  const variants = ['in-thread', 'pool-1']
  if (cpus >= 2) variants.push('pool-2')
  if (cpus > 2) variants.push(`pool-${cpus}`)
  variants.push('pool-1-static', 'naive')
  return variants
}

/**
 * The in-thread variants are plain loops, one render after another: one thread gains nothing from renders in flight
 * together, and measured here it lost (interleaved streaming renders keep more alive and collect more garbage).
 */
function inThread (variant) {
  return variant === 'in-thread' || variant === 'naive'
}

function runVariant (job, execArgv = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, runner, JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' }
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk })
    const limit = (job.warmup + job.duration + job.latencySeconds + 60) * 1000
    const timer = setTimeout(() => child.kill('SIGKILL'), limit)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((row) => row.startsWith('BENCH_POOL '))
      if (code !== 0 || line === undefined) reject(new Error(`${job.variant} ended with ${signal ?? code} and no report:\n${stdout}`))
      else resolve(JSON.parse(line.slice('BENCH_POOL '.length)))
    })
  })
}

function rotate (list, by) {
  const shift = by % list.length
  return [...list.slice(shift), ...list.slice(0, shift)]
}

function summarize (variants, runs) {
  const rounds = new Map()
  for (const run of runs) {
    if (!rounds.has(run.round)) rounds.set(run.round, {})
    rounds.get(run.round)[run.variant] = run
  }
  const perRound = (fn) => median([...rounds.values()].map(fn).filter((value) => Number.isFinite(value)))
  return variants.map((variant) => {
    const own = runs.filter((run) => run.variant === variant)
    const rps = own.map((run) => run.rendersPerSecond)
    const threads = own[0].threads
    const speedup = perRound((round) => round[variant]?.rendersPerSecond / round['in-thread']?.rendersPerSecond)
    return {
      variant,
      threads,
      rendersPerSecond: round(median(rps), 0),
      speedup: round(speedup, 3),
      efficiency: threads > 0 && !variant.endsWith('-static') ? round(speedup / threads, 3) : null,
      cpuCores: round(median(own.map((run) => run.cpuCores)), 2),
      cpuUsPerRender: round(median(own.map((run) => run.cpuUsPerRender)), 1),
      mainThreadCpuUsPerRender: round(median(own.map((run) => run.mainThreadCpuUsPerRender ?? NaN)), 1),
      mainThreadUtilization: round(median(own.map((run) => run.mainThreadUtilization)), 3),
      latencyP50Ms: round(median(own.map((run) => run.latency.p50Ms)), 4),
      latencyP99Ms: round(median(own.map((run) => run.latency.p99Ms)), 4),
      spread: round(spread(rps), 3),
      perRound: rps.map((value) => round(value, 0))
    }
  })
}

const tableHeader = ['variant', 'threads', 'renders/s', '× in-thread', 'efficiency', 'CPU cores used', 'CPU µs/render', 'main-thread CPU µs/render', 'main thread busy', 'latency p50', 'latency p99', 'spread']

function tableRows (summary) {
  return summary.map((row) => [
    row.variant,
    row.threads === 0 ? 'main' : String(row.threads),
    formatInt(row.rendersPerSecond),
    formatRatio(row.speedup),
    row.efficiency === null ? '' : formatPercent(row.efficiency),
    row.cpuCores.toFixed(2),
    formatInt(row.cpuUsPerRender),
    formatInt(row.mainThreadCpuUsPerRender),
    formatPercent(row.mainThreadUtilization),
    formatMs(row.latencyP50Ms),
    formatMs(row.latencyP99Ms),
    `±${formatPercent(row.spread / 2)}`
  ])
}

async function profilePool (job, startedAt, buildDir) {
  const dir = join(root, 'bench', 'profiles', `${startedAt.replace(/[:.]/g, '-')}-${job.variant}`)
  await mkdir(dir, { recursive: true })
  const result = await runVariant(job, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  // --cpu-prof writes one file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, the main thread's id 0.
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))
  const threadOf = (name) => Number(name.split('.')[4])
  const summaries = []
  for (const name of files.sort((a, b) => threadOf(a) - threadOf(b))) {
    summaries.push({ thread: threadOf(name) === 0 ? 'main' : `worker ${threadOf(name)}`, ...await summarizeProfile(join(dir, name), root, { top: 8, labels: [[buildDir, 'React server bundle']] }) })
  }
  return { variant: job.variant, dir: relative(root, dir), rendersPerSecondWhileProfiled: round(result.rendersPerSecond, 0), threads: summaries }
}

function profileMarkdown (profile) {
  const lines = [
    `**${profile.variant}** under \`node --cpu-prof\` (one extra run, ${formatInt(profile.rendersPerSecondWhileProfiled)} renders/s while ` +
      `profiled, warm-up included; files in \`${profile.dir}/\`, one per thread):`,
    ''
  ]
  for (const thread of profile.threads) {
    const packages = thread.packages.slice(0, 6).map((entry) => `${entry.name} ${formatPercent(entry.share)}`).join(', ')
    const functions = thread.functions.slice(0, 5).map((entry) => `\`${entry.name}\` ${formatPercent(entry.share, 1)}`).join(', ')
    lines.push(`- ${thread.thread}: idle ${formatPercent(thread.idle)}, GC ${formatPercent(thread.garbageCollector)}; by package: ${packages}; top functions: ${functions}.`)
  }
  return lines.join('\n') + '\n'
}

function sectionMarkdown (data) {
  const { date, machine, settings, summary, targets, profiles, busyBefore, busyAfter, addedLatencyMs, cpus } = data
  const headline = summary.filter((row) => row.threads > 1)
  const inThread = summary.find((row) => row.variant === 'in-thread')
  // Whatever the scheduling, n CPUs give at most n seconds of CPU per second: a variant that costs c µs of CPU per
  // render cannot exceed n × 1e6 / c renders/s. Set against the in-thread rate, that bounds the speedup.
  const overhead = summary.find((row) => row.variant === 'pool-1-static')
  const ceilings = summary.filter((row) => row.threads > 0 && row !== overhead).map((row) => {
    const ceiling = cpus * 1e6 / row.cpuUsPerRender / inThread.rendersPerSecond
    return `${row.variant} costs ${formatInt(row.cpuUsPerRender)} µs of CPU per render (${formatInt(row.mainThreadCpuUsPerRender)} µs of ` +
      `it on the main thread) against ${formatInt(inThread.cpuUsPerRender)} µs in-thread: on ${cpus} CPUs it cannot exceed ` +
      `${formatRatio(ceiling)} the in-thread rate at that cost, however well it is scheduled.`
  })
  return [
    '## Worker pool, without HTTP',
    '',
    `Written by \`npm run bench:pool\` on ${date}.`,
    '',
    `- Machine: ${machineLine(machine)}.`,
    `- Page: the React example's product page (\`${pageUrl}\`), rendered uncached. The pool variants keep ` +
      `${settings.concurrency} renders in flight; in-thread and naive are plain loops, one render after another.`,
    `- Each variant in a fresh process, not pinned (the pool may use all ${cpus} CPUs, the main thread included); ` +
      `${settings.warmup} s warm-up, ${settings.duration} s measured, then ${settings.latency} s of one render at a time for the latency; ` +
      `${settings.reps} rounds, the order rotated each round; medians.`,
    `- Other processes used ${formatPercent(busyBefore)} of the CPUs in the second before the run and ${formatPercent(busyAfter)} in the second after.`,
    '',
    ...headline.map((row) => `**Scaling efficiency with ${row.threads} threads: ${formatPercent(row.efficiency)}** ` +
      `(${formatRatio(row.speedup)} the in-thread renders/s).`),
    '',
    `Pool's added latency per render (pool-1 p50 − in-thread p50): **${formatMs(addedLatencyMs)}**.`,
    '',
    markdownTable(tableHeader, tableRows(summary)),
    '',
    '× in-thread: median of per-round ratios. Efficiency: × in-thread ÷ threads. CPU cores used: CPU time of all the',
    "process's threads ÷ wall time. CPU µs/render: CPU time of all threads per render, and the main thread's part of it",
    '(from /proc/self/task); unlike the wall-clock figures these hardly change when other processes share the machine.',
    'Main thread busy: its event-loop utilization while renders were kept in flight (in-thread and naive render on',
    'it; for the pool it is the cost of handing renders to workers). Latency: one render at a time, measured by the',
    'caller.',
    '',
    ...ceilings.map((line) => `- ${line}`),
    ...(overhead === undefined
      ? []
      : ['- The pool\'s own cost, measured with pool-1-static (a bundle that returns the same page as a constant, so ' +
        `nothing is rendered): ${formatInt(overhead.cpuUsPerRender)} µs of CPU per render, ${formatInt(overhead.mainThreadCpuUsPerRender)} µs ` +
        `of it on the main thread; at most ${formatInt(overhead.rendersPerSecond)} renders/s through one worker, whatever the page.`]),
    '',
    '### Target',
    '',
    ...targets.map((target) => `- ${target.text}`),
    '',
    ...(profiles.length === 0 ? [] : ['### What limits it', '', ...profiles.map(profileMarkdown)])
  ].join('\n')
}

async function main () {
  const cpus = os.availableParallelism()
  const { settings, changed } = readSettings({
    warmup: { env: 'BENCH_WARMUP', value: 2 },
    duration: { env: 'BENCH_DURATION', value: 5 },
    latency: { env: 'BENCH_LATENCY', value: 2 },
    reps: { env: 'BENCH_REPS', value: 3 },
    concurrency: { env: 'BENCH_CONCURRENCY', value: Math.max(16, 4 * cpus) }
  })
  if (settings.reps < 1 || settings.duration <= 0 || settings.latency <= 0 || settings.concurrency < 1) {
    throw new Error('BENCH_REPS, BENCH_DURATION, BENCH_LATENCY and BENCH_CONCURRENCY must be positive')
  }
  const variants = variantsFor(cpus)
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const estimate = Math.round(variants.length * settings.reps * (settings.warmup + settings.duration + settings.latency + 1))
  log(`npm run bench:pool: ${variants.join(', ')} × ${settings.reps} rounds, about ${estimate} s`)
  log(`machine: ${machineLine(machine)}`)
  const busyBefore = await sampleCpuBusy()
  log(`other processes use ${formatPercent(busyBefore)} of the CPUs now${busyBefore > busyThreshold ? ': the figures will be disturbed' : ''}`)
  const build = await prepareBuild()
  try {
    const base = { bundle: build.bundle, staticBundle: build.references.product.paths.staticBundle, naiveBundle: build.naiveBundle, warmup: settings.warmup, duration: settings.duration, latencySeconds: settings.latency, concurrency: settings.concurrency }
    const runs = []
    for (let index = 0; index < settings.reps; index++) {
      for (const variant of rotate(variants, index)) {
        const run = await runVariant({ ...base, variant, concurrency: inThread(variant) ? 1 : settings.concurrency })
        runs.push({ round: index, ...run })
        log(`round ${index + 1}/${settings.reps}  ${variant.padEnd(10)} ${formatInt(run.rendersPerSecond).padStart(7)} renders/s  ` +
          `${run.cpuCores.toFixed(2)} cores  main thread ${formatPercent(run.mainThreadUtilization)}  latency p50 ${formatMs(run.latency.p50Ms)}`)
      }
    }
    const summary = summarize(variants, runs)
    const row = (variant) => summary.find((entry) => entry.variant === variant)
    const addedLatencyMs = round(median([...new Set(runs.map((run) => run.round))].map((index) => {
      const at = (variant) => runs.find((run) => run.round === index && run.variant === variant)
      return at('pool-1').latency.p50Ms - at('in-thread').latency.p50Ms
    })), 4)
    const targets = row('pool-2') === undefined
      ? []
      : [judgeTarget({ label: 'pool with 2 threads ≥ 1.7 × in-thread renders/s', actual: row('pool-2').speedup, target: 1.7 })]

    const profiles = []
    const profileSetting = process.env.BENCH_PROFILE ?? 'auto'
    if (row('pool-2') !== undefined && (profileSetting === 'on' || (profileSetting === 'auto' && targets.some((target) => !target.met)))) {
      log('profiling pool-2 (one extra run, not in the table)')
      profiles.push(await profilePool({ ...base, variant: 'pool-2' }, startedAt, build.dir))
    }
    const busyAfter = await sampleCpuBusy()
    const flags = flagsFor({ changed, busyBefore, busyAfter, busyThreshold })
    const date = startedAt.slice(0, 10)
    const data = { date, startedAt, flags, machine, cpus, settings, busyBefore: round(busyBefore, 3), busyAfter: round(busyAfter, 3), summary, addedLatencyMs, targets, profiles, runs }
    const jsonPath = await writeResultsJson('pool', data)
    const mdPath = await writeResultsSection('pool', { date, flags }, sectionMarkdown(data))

    console.log('\n' + textTable(tableHeader, tableRows(summary)) + '\n')
    console.log(`pool's added latency per render: ${formatMs(addedLatencyMs)}`)
    for (const target of targets) console.log(target.text.replace(/\*\*/g, ''))
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

runMain(main)
