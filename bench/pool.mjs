// npm run bench:pool (the second part of npm run bench): renders through the worker pool, without HTTP, against the
// same render in the main thread.
//
// What runs (bench/pool-runner.mjs, each variant in a fresh process of its own, never pinned: the pool is meant to
// use every CPU), on the product page and the listing (bench/lib/pages.mjs):
//   in-thread      the React server bundle in a node:vm context in the main thread, through the plugin's own sandbox:
//                  a worker's work without the pool. The baseline: the floor of a miss.
//   pool-1         the built plugin, 1 worker thread, `fastify.ssr.render(url, data, { cache: false })` on an app that
//                  never listens
//   pool-2         the same with 2 threads
//   pool-1-static  pool-1 with a bundle that returns the same page as a constant: what the pool itself costs
//   pool-1-nospin  pool-1 with `handoffSpinUs: 0`: neither side polls before it sleeps (lib/render/handoff.ts), to
//                  show what the polling does in the same run
//   pool-2-spin    pool-2 with `handoffSpinUs: 50`: polling with a worker on every CPU, which the default leaves off
//   naive          renderToString of the same components in the main thread, for context
// in-thread, pool-1, pool-1-static and pool-1-nospin run with 1 and with CONCURRENCY (16) renders in flight, pool-2 with 16, naive
// with 1, pool-2 and pool-2-spin with 16. Where the load comes from: inside each process, a closed loop (each caller starts its next render when its
// last one resolves). No network is involved.
// Procedure: REPS rounds, each running every variant once, grouped by page, the order of pages and of variants
// rotated by one per round; WARMUP s of renders (discarded), DURATION s measured. Medians over rounds; ratios are
// medians of per-round ratios. CPU per render is split into the main thread, the render workers and the rest from
// /proc/self/task (bench/lib/threads.mjs).
// Targets (reported, not asserted; bench/lib/pool-report.mjs): pool-1 CPU per render ≤ in-thread + max(15%, 40 µs)
// for both pages at 1 and 16 in flight; pool-2 ≥ 1.8 × pool-1 renders/s on the listing. The variants furthest from a
// missed target get one extra run under `node --cpu-prof` (all threads; files kept in bench/profiles/), summarized in
// RESULTS.md.
//
// Settings (environment): BENCH_WARMUP=1, BENCH_DURATION=3 (seconds), BENCH_REPS=3, BENCH_CONCURRENCY=16,
// BENCH_PAGES=product,listing, BENCH_PROFILE=auto|off|on, BENCH_NOTE="text for the top of RESULTS.md". Any
// non-default setting, or a machine found busy before or after, marks the section as not a result.
// Writes: bench/results.json (key "pool") and the pool section of bench/RESULTS.md.

import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import os from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareBuild } from './lib/build.mjs'
import { busyThreshold, describeMachine, machineLine, sampleCpuBusy } from './lib/machine.mjs'
import { consoleReport, judge, sectionMarkdown, summarize } from './lib/pool-report.mjs'
import { summarizeProfileDir } from './lib/profile.mjs'
import { flagsFor, readSettings, writeResultsJson, writeResultsSection, reportWritten, runMain } from './lib/report.mjs'
import { formatInt, formatMs, formatPercent, round } from './lib/stats.mjs'

const root = fileURLToPath(new URL('../', import.meta.url))
const runner = fileURLToPath(new URL('pool-runner.mjs', import.meta.url))
const poolPages = ['product', 'listing']

function log (line = '') {
  process.stderr.write(line + '\n')
}

/** The jobs of one round, grouped by page. */
function jobGroups (pagesChosen, concurrency) {
  const variants = [['in-thread', 1], ['in-thread', concurrency], ['pool-1', 1], ['pool-1', concurrency], ['pool-2', concurrency], ['pool-2-spin', concurrency],
    ['pool-1-static', 1], ['pool-1-static', concurrency], ['pool-1-nospin', 1], ['pool-1-nospin', concurrency], ['naive', 1]]
  return pagesChosen.map((page) => variants.map(([variant, inFlight]) => ({ id: `${variant} ×${inFlight} · ${page}`, variant, page, concurrency: inFlight })))
}

function runVariant (job, execArgv = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, runner, JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' }
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk })
    const limit = (job.warmup + job.duration + 60) * 1000
    const timer = setTimeout(() => child.kill('SIGKILL'), limit)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((row) => row.startsWith('BENCH_POOL '))
      if (code !== 0 || line === undefined) reject(new Error(`${job.id} ended with ${signal ?? code} and no report:\n${stdout}`))
      else resolve(JSON.parse(line.slice('BENCH_POOL '.length)))
    })
  })
}

function rotate (list, by) {
  const shift = by % list.length
  return [...list.slice(shift), ...list.slice(0, shift)]
}

function selectPages () {
  const raw = process.env.BENCH_PAGES
  if (raw === undefined || raw === '') return { pagesChosen: poolPages, changed: [] }
  const names = raw.split(',').map((name) => name.trim())
  for (const name of names) if (!poolPages.includes(name)) throw new Error(`BENCH_PAGES: bench:pool renders ${poolPages.join(' and ')}, not "${name}"`)
  return { pagesChosen: poolPages.filter((name) => names.includes(name)), changed: [`BENCH_PAGES=${raw}`] }
}

/** The missed targets' variants, furthest first (at most 2), or every target's with BENCH_PROFILE=on. */
function chooseProfiles (targets) {
  const setting = process.env.BENCH_PROFILE ?? 'auto'
  if (setting === 'off' || setting === '0') return []
  const gap = (target) => target.atMost ? target.actual / target.target : target.target / target.actual
  const candidates = targets.filter((target) => target.actual !== null && (setting === 'on' || !target.met)).sort((a, b) => gap(b) - gap(a))
  const byKind = ['cpu', 'scaling'].map((kind) => candidates.find((target) => target.kind === kind)).filter((target) => target !== undefined)
  return [...new Set(byKind.map((target) => target.id))]
}

async function profileVariant (job, startedAt, build) {
  const dir = join(root, 'bench', 'profiles', `${startedAt.replace(/[:.]/g, '-')}-${job.variant}-${job.concurrency}-${job.page}`)
  await mkdir(dir, { recursive: true })
  const result = await runVariant(job, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  const labels = [[build.naiveBundle, 'naive bundle (React)'], [build.dir, 'React server bundle']]
  return { id: job.id, dir: relative(root, dir), rendersPerSecondWhileProfiled: round(result.rendersPerSecond, 0), threads: await summarizeProfileDir(dir, root, { top: 8, labels }) }
}

async function main () {
  const cpus = os.availableParallelism()
  const { settings, changed } = readSettings({
    warmup: { env: 'BENCH_WARMUP', value: 1 },
    duration: { env: 'BENCH_DURATION', value: 3 },
    reps: { env: 'BENCH_REPS', value: 3 },
    concurrency: { env: 'BENCH_CONCURRENCY', value: 16 }
  })
  if (settings.reps < 1 || settings.duration <= 0 || settings.concurrency < 2) {
    throw new Error('BENCH_REPS and BENCH_DURATION must be positive, BENCH_CONCURRENCY at least 2')
  }
  const { pagesChosen, changed: pageChange } = selectPages()
  const groups = jobGroups(pagesChosen, settings.concurrency)
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const count = groups.flat().length
  log(`npm run bench:pool: ${count} variants × ${settings.reps} rounds, about ${Math.round(count * settings.reps * (settings.warmup + settings.duration + 0.8) / 60)} min`)
  log(`machine: ${machineLine(machine)}`)
  const busyBefore = await sampleCpuBusy()
  log(`other processes use ${formatPercent(busyBefore)} of the CPUs now${busyBefore > busyThreshold ? ': the figures will be disturbed' : ''}`)
  const build = await prepareBuild()
  try {
    const base = (job) => ({
      ...job,
      bundle: build.bundle,
      staticBundle: build.references[job.page].paths.staticBundle,
      naiveBundle: build.naiveBundle,
      warmup: settings.warmup,
      duration: settings.duration
    })
    const runs = []
    for (let index = 0; index < settings.reps; index++) {
      for (const group of rotate(groups, index)) {
        for (const job of rotate(group, index)) {
          const run = await runVariant(base(job))
          runs.push({ round: index, id: job.id, ...run })
          log(`round ${index + 1}/${settings.reps}  ${job.id.padEnd(28)} ${formatInt(run.rendersPerSecond).padStart(7)} renders/s  ` +
            `${formatInt(run.cpuUsPerRender).padStart(6)} µs CPU/render (main ${formatInt(run.mainThreadCpuUsPerRender)}, workers ${formatInt(run.workerCpuUsPerRender)})  ` +
            `p50 ${formatMs(run.latency.p50Ms)}`)
        }
      }
    }
    const jobs = groups.flat()
    const rows = summarize(jobs, runs)
    const targets = judge(rows, runs, { pagesChosen, concurrencies: [1, settings.concurrency] })
    const profiles = []
    for (const id of chooseProfiles(targets)) {
      log(`profiling ${id} (one extra run, not in the tables)`)
      profiles.push(await profileVariant(base(jobs.find((job) => job.id === id)), startedAt, build))
    }
    const busyAfter = await sampleCpuBusy()
    const flags = flagsFor({ changed: [...changed, ...pageChange], busyBefore, busyAfter, busyThreshold })
    const date = startedAt.slice(0, 10)
    const pageSizes = Object.fromEntries(pagesChosen.map((name) => [name, build.references[name].identity.length]))
    const data = { date, startedAt, flags, machine, cpus, settings, pagesChosen, pageSizes, busyBefore: round(busyBefore, 3), busyAfter: round(busyAfter, 3), rows, targets, profiles, runs }
    const jsonPath = await writeResultsJson('pool', data)
    const mdPath = await writeResultsSection('pool', { date, flags }, sectionMarkdown(data))
    console.log('\n' + consoleReport(rows, targets, pagesChosen) + '\n')
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

runMain(main)
