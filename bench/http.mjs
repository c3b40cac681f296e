// npm run bench: HTTP throughput of the plugin, against baselines measured in the same run.
//
// What runs: six scenarios, each serving the React example's product page (bench/lib/page.mjs) at GET /products/:id
// from a server of its own (bench/server.mjs):
//   baseline             a bare Fastify route sending the page as a prebuilt Buffer: the framework's ceiling
//   cached               the React example's server (the plugin, default options), every request a hot-cache hit
//   cached-br            the same with Accept-Encoding: br, served from the body the worker compressed once
//   render               the plugin with `cache: false`: every request renders in the worker pool
//   naive                renderToString in the route handler on every request, React in the main thread
//   compress-on-the-fly  the baseline plus @fastify/compress, Accept-Encoding: br: compressed on every request
// Where the load comes from: wrk (autocannon when wrk is missing; bench/lib/loadgen.mjs says why) in a process of its
// own, 100 keep-alive connections, on a CPU the server does not get (taskset, bench/lib/machine.mjs). Each server
// runs in its own process, started fresh for every run, on 127.0.0.1 port 0, NODE_ENV=production, logger off.
// Procedure: everything is built fresh (bench/lib/build.mjs); then REPS rounds, each running every scenario once with
// the order rotated by one per round (this machine drifts by up to 50% between sets, so scenarios are interleaved).
// A run: start the server, check its response (bench/lib/check.mjs), WARMUP s of load (discarded), DURATION s
// measured, stop.
// The baseline: the bare Fastify route. Reported: medians over rounds of req/s, p50 and p99; the ratios to baseline and
// to naive are medians of per-round ratios (each against the baseline or naive run of its own round), so drift between
// rounds cancels out.
// Targets (reported, never asserted): cached ≥ 0.90 × baseline, cached-br ≥ 0.85 × baseline. A scenario that misses
// its target gets one extra run (not in the table) with the server's main thread profiled over the measured seconds,
// summarized in RESULTS.md; the .cpuprofile files stay in bench/profiles/.
//
// Settings (environment): BENCH_WARMUP=3, BENCH_DURATION=8 (seconds), BENCH_REPS=3, BENCH_CONNECTIONS=100,
// BENCH_SCENARIOS=cached,cached-br (baseline is always added), BENCH_LOADGEN=wrk|autocannon,
// BENCH_PROFILE=auto|off|<scenario,...>, BENCH_NOTE="text for the top of RESULTS.md". Any non-default setting, or a
// machine found busy before or after the run, marks the section as not a result.
// Writes: bench/results.json (key "http") and the HTTP section of bench/RESULTS.md.

import { mkdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareBuild } from './lib/build.mjs'
import { checkResponse } from './lib/check.mjs'
import { chooseLoadGenerator, errorCount, runLoad } from './lib/loadgen.mjs'
import { busyThreshold, cpuPlan, describeMachine, describePlan, machineLine, sampleCpuBusy } from './lib/machine.mjs'
import { pageUrl } from './lib/page.mjs'
import { summarizeProfile } from './lib/profile.mjs'
import { startServer } from './lib/processes.mjs'
import { flagsFor, readSettings, writeResultsJson, writeResultsSection, reportWritten, runMain } from './lib/report.mjs'
import {
  formatInt, formatMs, formatPercent, formatRatio, judgeTarget, markdownTable, median, round, spread, textTable
} from './lib/stats.mjs'

const root = fileURLToPath(new URL('../', import.meta.url))

const scenarios = [
  { name: 'baseline', server: 'bare', headers: {}, expect: { encoding: null, sameAsReference: true } },
  { name: 'cached', server: 'plugin', headers: {}, warm: true, expect: { encoding: null, cache: 'HIT-HOT', sameAsReference: true } },
  { name: 'cached-br', server: 'plugin', headers: { 'accept-encoding': 'br' }, warm: true, expect: { encoding: 'br', cache: 'HIT-HOT', sameAsReference: true } },
  { name: 'render', server: 'plugin-nocache', headers: {}, expect: { encoding: null, cache: 'BYPASS', sameAsReference: true } },
  // renderToString and the plugin's streaming render are expected to produce the same bytes; if React ever makes them
  // differ, the run goes on and the results say so.
  { name: 'naive', server: 'naive', headers: {}, expect: { encoding: null, sameAsReference: false } },
  { name: 'compress-on-the-fly', server: 'bare-compress', headers: { 'accept-encoding': 'br' }, expect: { encoding: 'br', sameAsReference: true } }
]

const targets = [
  { scenario: 'cached', target: 0.9, label: 'cached ≥ 0.90 × baseline' },
  { scenario: 'cached-br', target: 0.85, label: 'cached-br ≥ 0.85 × baseline' }
]

function log (line = '') {
  process.stderr.write(line + '\n')
}

function selectScenarios () {
  const wanted = process.env.BENCH_SCENARIOS
  if (wanted === undefined || wanted === '') return { chosen: scenarios, changed: [] }
  const names = new Set(wanted.split(',').map((name) => name.trim()))
  for (const name of names) {
    if (!scenarios.some((scenario) => scenario.name === name)) throw new Error(`BENCH_SCENARIOS: unknown scenario "${name}"`)
  }
  names.add('baseline')
  return { chosen: scenarios.filter((scenario) => names.has(scenario.name)), changed: [`BENCH_SCENARIOS=${wanted}`] }
}

/** One measured run: a fresh server, the response check, warm-up, measurement, the server's counters, stop. */
async function runScenario (context, scenario, { profilePath } = {}) {
  const { plan, generator, settings, build } = context
  const server = await startServer(plan, scenario.server, { reactDist: build.reactDist, naiveBundle: build.naiveBundle, referencePath: build.referencePath })
  try {
    const url = server.url(pageUrl)
    const check = await checkResponse(url, scenario.headers, scenario.expect, build.reference, { warm: scenario.warm === true })
    const load = { url, connections: settings.connections, headers: scenario.headers }
    if (settings.warmup > 0) await runLoad(generator, plan, { ...load, seconds: settings.warmup })
    const before = await server.ask('metrics')
    if (profilePath !== undefined) await server.ask('profile-start')
    const result = await runLoad(generator, plan, { ...load, seconds: settings.duration })
    if (profilePath !== undefined) await server.ask('profile-stop', { path: profilePath })
    const after = await server.ask('metrics')
    const renders = before.renders === null ? null : after.renders - before.renders
    return { ...result, check, threads: server.info.threads, renders, serverCpuUsPerRequest: (after.cpuUs - before.cpuUs) / result.requests }
  } finally {
    await server.stop()
  }
}

function rotate (list, by) {
  const shift = by % list.length
  return [...list.slice(shift), ...list.slice(0, shift)]
}

function summarize (chosen, runs) {
  const byRound = new Map()
  for (const run of runs) {
    if (!byRound.has(run.round)) byRound.set(run.round, {})
    byRound.get(run.round)[run.scenario] = run
  }
  const perRound = (name, reference, ratio) => median([...byRound.values()]
    .filter((round) => round[name] !== undefined && round[reference] !== undefined)
    .map((round) => ratio(round[name], round[reference])))
  const ratioTo = (name, reference) => perRound(name, reference, (own, other) => own.requestsPerSecond / other.requestsPerSecond)
  // The same ratio from CPU cost: how many of this scenario's responses the CPU of one baseline response would pay for.
  const cpuRatioTo = (name, reference) => perRound(name, reference, (own, other) => other.serverCpuUsPerRequest / own.serverCpuUsPerRequest)
  return chosen.map(({ name }) => {
    const own = runs.filter((run) => run.scenario === name)
    const rps = own.map((run) => run.requestsPerSecond)
    return {
      scenario: name,
      requestsPerSecond: round(median(rps), 0),
      p50Ms: round(median(own.map((run) => run.latencyMs.p50)), 3),
      p99Ms: round(median(own.map((run) => run.latencyMs.p99)), 3),
      bytesPerResponse: round(median(own.map((run) => run.bytesPerResponse)), 0),
      serverCpuUsPerRequest: round(median(own.map((run) => run.serverCpuUsPerRequest)), 2),
      ratioToBaseline: round(ratioTo(name, 'baseline'), 3),
      ratioToNaive: round(ratioTo(name, 'naive'), 3),
      cpuRatioToBaseline: round(cpuRatioTo(name, 'baseline'), 3),
      spread: round(spread(rps), 3),
      perRound: rps.map((value) => round(value, 0)),
      errors: own.reduce((sum, run) => sum + errorCount(run), 0),
      threads: own[0].threads,
      rendersPerRequest: own[0].renders === null ? null : round(median(own.map((run) => run.renders / run.requests)), 4),
      check: own[0].check
    }
  })
}

function chooseProfiles (setting, judged, chosen) {
  if (setting === 'off' || setting === '0') return []
  if (setting === 'auto') return judged.filter((target) => !target.met && target.actual !== null).map((target) => target.scenario)
  const names = setting.split(',').map((name) => name.trim())
  for (const name of names) if (!chosen.some((scenario) => scenario.name === name)) throw new Error(`BENCH_PROFILE: "${name}" is not among the scenarios run`)
  return names
}

/** One extra run of `scenario` with the server's main thread profiled over the measured seconds, summarized. */
async function profileScenario (context, scenario) {
  const dir = join(root, 'bench', 'profiles')
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${context.startedAt.replace(/[:.]/g, '-')}-${scenario.name}.cpuprofile`)
  const run = await runScenario(context, scenario, { profilePath: path })
  const summary = await summarizeProfile(path, root)
  return { scenario: scenario.name, file: relative(root, path), requestsPerSecondWhileProfiled: round(run.requestsPerSecond, 0), ...summary }
}

function tableRows (summary) {
  return summary.map((row) => [
    row.scenario,
    formatInt(row.requestsPerSecond),
    formatMs(row.p50Ms),
    formatMs(row.p99Ms),
    formatInt(row.bytesPerResponse),
    row.serverCpuUsPerRequest.toFixed(1),
    formatRatio(row.ratioToBaseline),
    formatRatio(row.ratioToNaive),
    `±${formatPercent(row.spread / 2)}`
  ])
}

const tableHeader = ['scenario', 'req/s', 'p50', 'p99', 'bytes/response', 'server CPU µs/request', '× baseline', '× naive', 'spread']

function profileMarkdown (profile) {
  const packages = profile.packages.slice(0, 8).map((entry) => `${entry.name} ${formatPercent(entry.share)}`).join(', ')
  const plugin = profile.packages.find((entry) => entry.name === 'fastify-ssr-engine (dist/)')
  const functions = profile.functions.map((entry) => [`\`${entry.name}\``, entry.package, formatPercent(entry.share, 1)])
  return [
    `**${profile.scenario}**, one extra run with the server's main thread profiled over the measured seconds ` +
      `(${formatInt(profile.requestsPerSecondWhileProfiled)} req/s while profiled; \`${profile.file}\` opens in Chrome ` +
      `DevTools). ${formatInt(profile.sampledMs)} ms sampled: ` +
      `idle ${formatPercent(profile.idle)}, garbage collection ${formatPercent(profile.garbageCollector)}, ` +
      `V8 "(program)" ${formatPercent(profile.program)}. Self time by package: ${packages}.` +
      (plugin === undefined ? '' : ` Inclusive time under the plugin's functions (what they call included, the response writes they start among it): ${formatPercent(plugin.inclusive)}.`),
    '',
    markdownTable(['function (self time)', 'package', 'share'], functions, 2),
    ''
  ].join('\n')
}

function sectionMarkdown (data) {
  const { machine, generator, plan, settings, summary, targets: judged, profiles, busyBefore, busyAfter, date, pageBytes } = data
  const render = summary.find((row) => row.scenario === 'render')
  const cachedRows = summary.filter((row) => row.scenario.startsWith('cached'))
  const br = summary.find((row) => row.scenario === 'cached-br')
  const naive = summary.find((row) => row.scenario === 'naive')
  const checks = [
    'Before each measured run one request checked the response: status 200, the scenario\'s Content-Encoding and ' +
      '`x-ssr-cache`, and the decoded body byte for byte against the page the plugin rendered.',
    ...cachedRows.map((row) => `${row.scenario}: ${row.rendersPerRequest === 0 ? 'no render' : `${row.rendersPerRequest} renders per request`} during the measured seconds${row.rendersPerRequest === 0 ? ' (every request a cache hit)' : ''}.`),
    ...(render === undefined ? [] : [`render: ${render.rendersPerRequest} renders per request, on ${render.threads} worker thread(s) (the plugin's default: the CPUs its pinned process may use).`]),
    ...(naive === undefined ? [] : [`naive: renderToString's page is ${naive.check.sameAsReference ? 'byte for byte the same as' : `**not** the same as (${naive.check.pageBytes} bytes)`} the plugin's.`]),
    summary.some((row) => row.errors > 0)
      ? `**Errors** during measurement: ${summary.filter((row) => row.errors > 0).map((row) => `${row.scenario} ${row.errors}`).join(', ')}.`
      : 'No socket errors, timeouts or non-2xx responses during measurement.'
  ]
  return [
    '## HTTP throughput',
    '',
    `Written by \`npm run bench\` on ${date}.`,
    '',
    `- Machine: ${machineLine(machine)}.`,
    `- Load: ${generator.name} ${generator.version}, ${settings.connections} connections, ${plan.loadThreads} thread(s); ${generator.why}.`,
    `- CPUs: ${describePlan(plan)}.`,
    `- Each run: a fresh server process, ${settings.warmup} s warm-up, ${settings.duration} s measured; ${settings.reps} rounds, the scenario order rotated each round; medians.`,
    `- Page: \`GET ${pageUrl}\`, the React example's product page, ${formatInt(pageBytes)} bytes of HTML` +
      `${br === undefined ? '' : ` (${formatInt(br.check.bodyBytes)} bytes as the plugin's brotli body)`}.`,
    `- Other processes used ${formatPercent(busyBefore)} of the CPUs in the second before the run and ${formatPercent(busyAfter)} in the second after.`,
    '',
    markdownTable(tableHeader, tableRows(summary)),
    '',
    'req/s, p50 and p99 are medians over the rounds; bytes/response includes headers. The ratios are medians of',
    'per-round ratios (each run against the baseline or naive run of its own round), so they may differ a little from',
    'the ratio of the medians. Spread: half the range of req/s over the rounds, as a share of the median. Server CPU',
    'µs/request: CPU time of the server process (all its threads) during the measured seconds, per response; it',
    'hardly changes when other processes share the machine, and when the server has one CPU to itself, 1,000,000 ÷ it',
    'is about the req/s it can reach. A large gap between the two means something else took that CPU.',
    '',
    '### Targets',
    '',
    ...judged.map((target) => `- ${target.text}`),
    '',
    '### Checks',
    '',
    ...checks.map((line) => `- ${line}`),
    '',
    ...(profiles.length === 0
      ? []
      : ['### What limits it', '', 'Profiles of the server for the scenarios that missed a target (or were named in BENCH_PROFILE):', '', ...profiles.map(profileMarkdown)])
  ].join('\n')
}

async function main () {
  const { settings, changed } = readSettings({
    warmup: { env: 'BENCH_WARMUP', value: 3 },
    duration: { env: 'BENCH_DURATION', value: 8 },
    reps: { env: 'BENCH_REPS', value: 3 },
    connections: { env: 'BENCH_CONNECTIONS', value: 100 }
  })
  if (settings.reps < 1 || settings.duration <= 0 || settings.connections < 1) throw new Error('BENCH_REPS, BENCH_DURATION and BENCH_CONNECTIONS must be positive')
  const { chosen, changed: scenarioChange } = selectScenarios()
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const plan = cpuPlan()
  const generator = await chooseLoadGenerator()
  const estimate = Math.round(chosen.length * settings.reps * (settings.warmup + settings.duration + 1.5))
  log(`npm run bench: ${chosen.length} scenarios × ${settings.reps} rounds, ${settings.warmup} s warm-up + ${settings.duration} s measured each, about ${estimate} s`)
  log(`machine: ${machineLine(machine)}`)
  log(`cpus: ${describePlan(plan)}`)
  log(`load: ${generator.name} ${generator.version}, ${settings.connections} connections (${generator.why})`)

  const busyBefore = await sampleCpuBusy()
  log(`other processes use ${formatPercent(busyBefore)} of the CPUs now${busyBefore > busyThreshold ? ': the figures will be disturbed' : ''}`)
  const build = await prepareBuild()
  const context = { plan, generator, settings, build, startedAt }
  try {
    const runs = []
    for (let index = 0; index < settings.reps; index++) {
      for (const scenario of rotate(chosen, index)) {
        const run = await runScenario(context, scenario)
        runs.push({ round: index, scenario: scenario.name, ...run })
        log(`round ${index + 1}/${settings.reps}  ${scenario.name.padEnd(20)} ${formatInt(run.requestsPerSecond).padStart(8)} req/s  ` +
          `p50 ${formatMs(run.latencyMs.p50)}  p99 ${formatMs(run.latencyMs.p99)}${errorCount(run) > 0 ? `  ${errorCount(run)} errors` : ''}`)
      }
    }
    const summary = summarize(chosen, runs)
    const judged = targets
      .filter((target) => summary.some((row) => row.scenario === target.scenario))
      .map((target) => {
        const row = summary.find((entry) => entry.scenario === target.scenario)
        const judged = judgeTarget({ label: target.label, actual: row.ratioToBaseline, target: target.target })
        // Measured by CPU per response as well: close to the req/s ratio on a quiet machine, steadier on a busy one.
        return { scenario: target.scenario, ...judged, byCpu: row.cpuRatioToBaseline, text: `${judged.text}; by server CPU per response: ${formatRatio(row.cpuRatioToBaseline)}` }
      })

    const profiles = []
    for (const name of chooseProfiles(process.env.BENCH_PROFILE ?? 'auto', judged, chosen)) {
      log(`profiling ${name} (one extra run, not in the table)`)
      profiles.push(await profileScenario(context, chosen.find((scenario) => scenario.name === name)))
    }
    const busyAfter = await sampleCpuBusy()
    const errors = summary.filter((row) => row.errors > 0).map((row) => `${row.scenario} had ${row.errors} errors`)
    for (const row of summary) {
      if (row.scenario.startsWith('cached') && row.rendersPerRequest !== 0) errors.push(`${row.scenario} rendered during measurement (${row.rendersPerRequest} renders per request)`)
    }
    const flags = flagsFor({ changed: [...changed, ...scenarioChange], busyBefore, busyAfter, busyThreshold, extra: errors })
    const date = startedAt.slice(0, 10)
    const data = {
      date,
      startedAt,
      flags,
      machine,
      plan: { pinned: plan.pinned, server: plan.server, load: plan.load, why: plan.why },
      generator: { name: generator.name, version: generator.version, why: generator.why },
      settings,
      page: { url: pageUrl, bytes: build.reference.length },
      busyBefore: round(busyBefore, 3),
      busyAfter: round(busyAfter, 3),
      summary,
      targets: judged,
      profiles,
      runs
    }
    const jsonPath = await writeResultsJson('http', data)
    const mdPath = await writeResultsSection('http', { date, flags }, sectionMarkdown({ ...data, plan, pageBytes: build.reference.length }))

    console.log('\n' + textTable(tableHeader, tableRows(summary)) + '\n')
    for (const target of judged) console.log(target.text.replace(/\*\*/g, ''))
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

runMain(main)
