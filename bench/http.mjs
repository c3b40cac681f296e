// npm run bench:http (the first part of npm run bench): HTTP throughput and CPU per request of the plugin, against
// the alternatives measured in the same run.
//
// What runs: the scenarios of bench/lib/http-plan.mjs on three pages (bench/lib/pages.mjs: the React example's
// product page ~1.6 KB, its listing ~20 KB, the listing with a 5× catalog ~100 KB), each from a server of its own
// (bench/server.mjs):
//   baseline / baseline-br  a bare Fastify route sending the page (its brotli body) as a prebuilt Buffer: the ceiling
//                           of a cache hit, the same bytes with nothing to look up
//   baseline-headers(-br)   the same sending a hit's headers as well (ETag, Cache-Control, Last-Modified, Vary, Age,
//                           x-ssr-cache): the same bytes on the wire as a hit
//   cached / cached-br      the React example's server (the plugin, default options), every request a hot-cache hit
//   render                  the plugin with `cache: false` and 1 worker thread: every request renders in the pool
//   render-inline           the same with `threads: 0`: every request renders in the main thread, no worker
//   naive                   renderToString in the route handler, the same renderer as the bundle: what a user does
//                           without the plugin, and the floor of a miss on the same CPU
//   compress-on-the-fly     the bare route plus @fastify/compress, Accept-Encoding: br
//   render-2 / naive-2      render with 2 worker threads / naive, the server not pinned: the scaling
//   render-2-pinned         render-2 with `pinThreads: true` (listing; "not available" if the plugin rejects it)
//   render-2-stgc / naive-2-stgc  render-2 and naive-2 with `node --single-threaded-gc` (listing): what V8's GC
//                           helper threads cost on two CPUs, an operator's flag (the README's advice), not a default
//   data-eager / data-loader  hits of the listing whose data costs a 1 ms wait: eager data (the route waits on every
//                           request) against a loader (called only to render; "not available" if the plugin does not
//                           take a function as data), with 10 connections so the wait is not lost in queueing
// Where the load comes from: wrk (autocannon when wrk is missing; bench/lib/loadgen.mjs says why) in a process of its
// own, 100 keep-alive connections, pinned to a CPU of its own (taskset, bench/lib/machine.mjs). Servers are pinned to
// the other CPU, except the scenarios marked not pinned, which may use every CPU and so share the load generator's.
// Each server runs in its own process, started fresh for every run, on 127.0.0.1 port 0, NODE_ENV=production, logger
// off.
// Procedure: everything is built fresh (bench/lib/build.mjs); then REPS rounds, each running every scenario once,
// grouped by page so that compared runs are close in time, with the order of the pages and of the scenarios within
// each rotated every round (this machine drifts between sets). A run: start the server, check its response
// (bench/lib/check.mjs), WARMUP s of load (discarded), DURATION s measured, stop.
// Reported: per scenario medians over rounds of req/s, p50, p99 and CPU µs per request (every thread of the server,
// from process.cpuUsage(), with its main-thread and worker-thread parts from /proc/self/task); comparisons and targets
// as medians of per-round ratios (bench/lib/http-summary.mjs). Targets are reported, never asserted. The scenarios
// furthest from their targets get one extra run each under `node --cpu-prof` (every thread), summarized in
// RESULTS.md; the .cpuprofile files stay in bench/profiles/.
//
// Settings (environment): BENCH_WARMUP=2, BENCH_DURATION=5 (seconds), BENCH_REPS=3, BENCH_CONNECTIONS=100,
// BENCH_SCENARIOS=cached,render (the scenarios they are compared with are added), BENCH_PAGES=product,listing,large,
// BENCH_LOADGEN=wrk|autocannon, BENCH_PROFILE=auto|off|<scenario · page,...> (auto: up to BENCH_PROFILE_MAX=3),
// BENCH_NOTE="text for the top of RESULTS.md". Any non-default setting, or a machine found busy before or after the
// run, marks the section as not a result.
// Writes: bench/results.json (key "http") and the HTTP section of bench/RESULTS.md.

import { mkdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareBuild } from './lib/build.mjs'
import { checkResponse } from './lib/check.mjs'
import { casesFor, comparisons, scenarios, targetsFor } from './lib/http-plan.mjs'
import { consoleReport, sectionMarkdown } from './lib/http-markdown.mjs'
import { judgeTargets, pinningVerdict, summarizeCases, summarizeComparisons } from './lib/http-summary.mjs'
import { chooseLoadGenerator, errorCount, runLoad } from './lib/loadgen.mjs'
import { busyBetween, busyThreshold, cpuPlan, describeMachine, describePlan, machineLine, perCpuTimes, sampleCpuBusy } from './lib/machine.mjs'
import { pageNames, pages } from './lib/pages.mjs'
import { summarizeProfileDir } from './lib/profile.mjs'
import { startServer } from './lib/processes.mjs'
import { flagsFor, readSettings, writeResultsJson, writeResultsSection, reportWritten, runMain } from './lib/report.mjs'
import { formatInt, formatMs, formatPercent, round } from './lib/stats.mjs'

const root = fileURLToPath(new URL('../', import.meta.url))

function log (line = '') {
  process.stderr.write(line + '\n')
}

function listSetting (name, known) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return null
  const names = raw.split(',').map((entry) => entry.trim())
  for (const entry of names) if (!known.includes(entry)) throw new Error(`${name}: unknown "${entry}"; expected some of ${known.join(', ')}`)
  return names
}

/** The scenarios asked for, plus those they are compared with, in the plan's order. */
function selectScenarios () {
  const wanted = listSetting('BENCH_SCENARIOS', scenarios.map((scenario) => scenario.name))
  if (wanted === null) return { chosen: scenarios, changed: [] }
  const names = new Set(wanted)
  for (const comparison of comparisons) if (wanted.includes(comparison.own)) names.add(comparison.other)
  return { chosen: scenarios.filter((scenario) => names.has(scenario.name)), changed: [`BENCH_SCENARIOS=${process.env.BENCH_SCENARIOS}`] }
}

function selectPages () {
  const wanted = listSetting('BENCH_PAGES', pageNames)
  return wanted === null ? { pagesChosen: pageNames, changed: [] } : { pagesChosen: pageNames.filter((name) => wanted.includes(name)), changed: [`BENCH_PAGES=${process.env.BENCH_PAGES}`] }
}

/** One measured run: a fresh server, the response check, warm-up, measurement, the server's counters, stop. */
async function runCase (context, { scenario, page }, { profileDir } = {}) {
  const { plan, generator, settings, build } = context
  const config = { ...build.serverConfig, ssr: scenario.ssr, probeLoader: scenario.probeLoader === true, dataWaitMs: 1 }
  const execArgv = [...(scenario.nodeFlags ?? []), ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])]
  const server = await startServer(plan, scenario.server, config, { pinned: scenario.pinned !== false, execArgv })
  if (server.unavailable !== undefined) return { unavailable: server.unavailable }
  try {
    const headers = scenario.headers ?? {}
    const url = server.url(scenario.path ?? pages[page].path)
    const check = await checkResponse(url, headers, scenario.expect ?? {}, build.references[page], { warm: scenario.warm === true })
    const load = { url, connections: scenario.connections ?? settings.connections, headers }
    if (settings.warmup > 0) await runLoad(generator, plan, { ...load, seconds: settings.warmup })
    const before = await server.ask('metrics')
    const cpusBefore = perCpuTimes()
    const result = await runLoad(generator, plan, { ...load, seconds: settings.duration })
    const cpusAfter = perCpuTimes()
    const after = await server.ask('metrics')
    const perRequest = (field) => after[field] === null || before[field] === null ? null : (after[field] - before[field]) / result.requests
    return {
      ...result,
      errorCount: errorCount(result),
      check,
      threads: server.info.threads,
      renders: before.renders === null ? null : after.renders - before.renders,
      dataCalls: after.dataCalls - before.dataCalls,
      cpuUsPerRequest: perRequest('cpuUs'),
      mainUsPerRequest: perRequest('mainUs'),
      workersUsPerRequest: server.info.threads === 0 ? 0 : perRequest('workersUs'),
      loadCpuBusy: plan.pinned ? busyBetween(cpusBefore, cpusAfter, plan.load) : null,
      serverCpuBusy: plan.pinned ? busyBetween(cpusBefore, cpusAfter, plan.server) : null,
      affinity: scenario.ssr?.pinThreads === true ? await server.ask('affinity') : undefined
    }
  } finally {
    await server.stop()
  }
}

function rotate (list, by) {
  const shift = by % list.length
  return [...list.slice(shift), ...list.slice(0, shift)]
}

/** Profiles to take: the own scenarios of the targets missed by most (relative gap), or those named. */
function chooseProfiles (judged, groups) {
  const setting = process.env.BENCH_PROFILE ?? 'auto'
  const ids = groups.flat().map((entry) => entry.id)
  if (setting === 'off' || setting === '0') return []
  if (setting !== 'auto') {
    const names = setting.split(',').map((name) => name.trim())
    for (const name of names) if (!ids.includes(name)) throw new Error(`BENCH_PROFILE: "${name}" is not among the runs (${ids.join(', ')})`)
    return names
  }
  const max = Number(process.env.BENCH_PROFILE_MAX ?? 3)
  const gap = (target) => target.atMost ? target.actual / target.target : target.target / target.actual
  const missed = judged.filter((target) => !target.met && target.actual !== null).sort((a, b) => gap(b) - gap(a))
  return [...new Set(missed.map((target) => `${target.own} · ${target.page}`))].slice(0, max)
}

async function profileCase (context, entry) {
  const dir = join(root, 'bench', 'profiles', `${context.startedAt.replace(/[:.]/g, '-')}-${entry.scenario.name}-${entry.page}`)
  await mkdir(dir, { recursive: true })
  const run = await runCase(context, entry, { profileDir: dir })
  const labels = [[context.build.naiveBundle, 'naive bundle (React)'], [context.build.dir, 'React server bundle']]
  const threads = await summarizeProfileDir(dir, root, { top: 8, labels })
  return { id: entry.id, dir: relative(root, dir), requestsPerSecondWhileProfiled: round(run.requestsPerSecond, 0), threads }
}

async function main () {
  const { settings, changed } = readSettings({
    warmup: { env: 'BENCH_WARMUP', value: 2 },
    duration: { env: 'BENCH_DURATION', value: 5 },
    reps: { env: 'BENCH_REPS', value: 3 },
    connections: { env: 'BENCH_CONNECTIONS', value: 100 }
  })
  if (settings.reps < 1 || settings.duration <= 0 || settings.connections < 1) throw new Error('BENCH_REPS, BENCH_DURATION and BENCH_CONNECTIONS must be positive')
  const { chosen, changed: scenarioChange } = selectScenarios()
  const { pagesChosen, changed: pageChange } = selectPages()
  const groups = casesFor(chosen, pagesChosen)
  const count = groups.flat().length
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const plan = cpuPlan()
  const generator = await chooseLoadGenerator()
  const estimate = Math.round(count * settings.reps * (settings.warmup + settings.duration + 1.5) / 60)
  log(`npm run bench:http: ${count} runs × ${settings.reps} rounds, ${settings.warmup} s warm-up + ${settings.duration} s measured each, about ${estimate} min`)
  log(`machine: ${machineLine(machine)}`)
  log(`cpus: ${describePlan(plan)}`)
  log(`load: ${generator.name} ${generator.version}, ${settings.connections} connections (${generator.why})`)

  const busyBefore = await sampleCpuBusy()
  log(`other processes use ${formatPercent(busyBefore)} of the CPUs now${busyBefore > busyThreshold ? ': the figures will be disturbed' : ''}`)
  const build = await prepareBuild()
  const context = { plan, generator, settings, build, startedAt }
  try {
    const runs = []
    const unavailable = new Map()
    for (let index = 0; index < settings.reps; index++) {
      for (const group of rotate(groups, index)) {
        for (const entry of rotate(group, index)) {
          // A feature the plugin lacks stays lacking: asked once, reported, not asked again every round.
          if (unavailable.has(entry.id)) continue
          const run = await runCase(context, entry)
          runs.push({ round: index, id: entry.id, scenario: entry.scenario.name, page: entry.page, ...run })
          if (run.unavailable !== undefined) {
            unavailable.set(entry.id, run.unavailable)
            log(`round ${index + 1}/${settings.reps}  ${entry.id.padEnd(30)} not available: ${run.unavailable}`)
            continue
          }
          log(`round ${index + 1}/${settings.reps}  ${entry.id.padEnd(30)} ${formatInt(run.requestsPerSecond).padStart(8)} req/s  ` +
            `${(run.cpuUsPerRequest ?? NaN).toFixed(1).padStart(8)} µs CPU/request  p50 ${formatMs(run.latencyMs.p50)}` +
            `${run.errorCount > 0 ? `  ${run.errorCount} errors` : ''}`)
        }
      }
    }
    const rows = summarizeCases(groups, runs)
    const compared = summarizeComparisons(comparisons, rows, runs)
    const ran = (name, page) => rows.some((row) => row.scenario === name && row.page === page)
    const targets = judgeTargets(targetsFor(pagesChosen).filter((target) => ran(target.own, target.page) && ran(target.other, target.page)), compared)
    const pinning = pinningVerdict(compared, rows)

    const profiles = []
    for (const id of chooseProfiles(targets, groups)) {
      log(`profiling ${id} (one extra run, not in the tables)`)
      profiles.push(await profileCase(context, groups.flat().find((entry) => entry.id === id)))
    }
    const busyAfter = await sampleCpuBusy()
    const problems = rows.filter((row) => row.errors > 0).map((row) => `${row.id} had ${row.errors} errors`)
    for (const row of rows) {
      const hits = row.scenario.startsWith('cached') || row.scenario.startsWith('data-')
      if (hits && row.unavailable === undefined && row.rendersPerRequest !== 0) problems.push(`${row.id} rendered during measurement (${row.rendersPerRequest} renders per request)`)
      if (row.scenario === 'data-loader' && row.unavailable === undefined && row.dataCallsPerRequest !== 0) problems.push(`${row.id} called its loader on hits`)
    }
    const flags = flagsFor({ changed: [...changed, ...scenarioChange, ...pageChange], busyBefore, busyAfter, busyThreshold, extra: problems })
    const date = startedAt.slice(0, 10)
    const data = {
      date,
      startedAt,
      flags,
      machine,
      plan: { pinned: plan.pinned, server: plan.server, load: plan.load, why: plan.why, loadThreads: plan.loadThreads },
      generator: { name: generator.name, version: generator.version, why: generator.why },
      settings,
      pages: Object.fromEntries(pagesChosen.map((name) => [name, { path: pages[name].path, bytes: build.references[name].identity.length, brBytes: build.references[name].br?.length ?? null }])),
      busyBefore: round(busyBefore, 3),
      busyAfter: round(busyAfter, 3),
      rows,
      comparisons: compared,
      targets,
      pinning,
      profiles,
      runs
    }
    const jsonPath = await writeResultsJson('http', data)
    const mdPath = await writeResultsSection('http', { date, flags }, sectionMarkdown({ ...data, references: build.references, pagesChosen }))
    console.log('\n' + consoleReport({ rows, comparisons: compared, targets, pinning, pagesChosen }) + '\n')
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

runMain(main)
