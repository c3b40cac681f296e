// npm run bench:hits (part of npm run bench): a cache hit against the bare route sending the same bytes, measured in
// short windows alternated many times, where issue 13's hit targets are judged.
//
// Why a script of its own: bench:http measures each scenario in three runs of 5 s, each a fresh server minutes apart
// from the run it is compared with. On this shared VM the speed of a CPU drifts by ±20-80% between such runs, far more
// than the difference being measured (a few µs on a ~25 µs request). Here the servers being compared run side by side
// (all pinned to the server CPU, only the one under load busy), and the load moves between them every WINDOW seconds,
// WINDOWS times, the order rotated each time: each window is compared with the windows of the other servers in the
// same round, seconds apart, and the medians of those per-round ratios are the figures.
//
// What runs, per page (bench/lib/pages.mjs: product ~1.6 KB, listing ~20 KB, large ~100 KB) and encoding (identity,
// br): baseline (bare Fastify route, a prebuilt Buffer and a Content-Type), baseline-headers (the same with a hit's
// headers: the same bytes on the wire as a hit) and cached (the React example's server, every request a hot hit),
// each checked first (bench/lib/check.mjs: status, encoding, x-ssr-cache, the body byte for byte).
// Load: wrk (autocannon when missing), 100 connections, on the load CPU. CPU per request: utime + stime of every thread
// of the server process over the window, per response.
// Settings (environment): BENCH_WINDOW=1 (seconds), BENCH_WINDOWS=15, BENCH_WARMUP=2 (seconds, each server, once),
// BENCH_PAGES=product,listing,large, BENCH_CONNECTIONS=100. Any non-default setting, or a busy machine, marks the
// section as not a result.
// Writes: bench/results.json (key "hits") and the Hits section of bench/RESULTS.md.

import { prepareBuild } from './lib/build.mjs'
import { checkResponse } from './lib/check.mjs'
import { scenarios } from './lib/http-plan.mjs'
import { chooseLoadGenerator, errorCount, runLoad } from './lib/loadgen.mjs'
import { busyThreshold, cpuPlan, describeMachine, describePlan, machineLine, sampleCpuBusy } from './lib/machine.mjs'
import { pageNames, pages } from './lib/pages.mjs'
import { startServer } from './lib/processes.mjs'
import { busyAndTargetLines, flagsFor, readSettings, reportWritten, runMain, writeResultsJson, writeResultsSection } from './lib/report.mjs'
import { formatInt, formatPercent, formatRatio, judgeTarget, markdownTable, median, percentile, round, textTable } from './lib/stats.mjs'

const log = (line = '') => process.stderr.write(line + '\n')

/** Per encoding: the three servers compared, by their bench:http scenario names. */
const sets = {
  identity: ['baseline', 'baseline-headers', 'cached'],
  br: ['baseline-br', 'baseline-headers-br', 'cached-br']
}

const scenario = (name) => scenarios.find((entry) => entry.name === name)

async function startChecked (context, name, page) {
  const { plan, build } = context
  const entry = scenario(name)
  const server = await startServer(plan, entry.server, { ...build.serverConfig, ssr: entry.ssr })
  const headers = entry.headers ?? {}
  const url = server.url(pages[page].path)
  await checkResponse(url, headers, entry.expect ?? {}, build.references[page], { warm: entry.warm === true })
  return { name, server, url, headers, renders: 0 }
}

async function window (context, one, seconds) {
  const { generator, plan, settings } = context
  const before = await one.server.ask('metrics')
  const result = await runLoad(generator, plan, { url: one.url, headers: one.headers, connections: settings.connections, seconds })
  const after = await one.server.ask('metrics')
  if (before.renders !== null) one.renders += after.renders - before.renders
  return { requests: result.requests, rps: result.requestsPerSecond, cpuUs: (after.cpuUs - before.cpuUs) / result.requests, errors: errorCount(result) }
}

/** One page and encoding: the three servers side by side, WINDOWS rounds of one window each. */
async function measureSet (context, page, encoding) {
  const { settings } = context
  const started = []
  try {
    for (const name of sets[encoding]) started.push(await startChecked(context, name, page))
    for (const one of started) await window(context, one, settings.warmup)
    for (const one of started) one.renders = 0
    const rounds = []
    for (let index = 0; index < settings.windows; index++) {
      const order = started.map((_, position) => started[(position + index) % started.length])
      const measured = {}
      for (const one of order) measured[one.name] = await window(context, one, settings.window)
      rounds.push(measured)
    }
    return { page, encoding, names: sets[encoding], rounds, renders: Object.fromEntries(started.map((one) => [one.name, one.renders])) }
  } finally {
    for (const one of started) await one.server.stop()
  }
}

/** Medians of each server's windows, and of the per-round ratios of each against the baseline and baseline-headers. */
function summarize (set) {
  const [baseline, headers, cached] = set.names
  const of = (name, field) => set.rounds.map((measured) => measured[name][field])
  const ratios = (own, other, field) => set.rounds.map((measured) => measured[own][field] / measured[other][field])
  const quartiles = (values) => [round(percentile(values, 25), 3), round(percentile(values, 75), 3)]
  const servers = Object.fromEntries(set.names.map((name) => [name, {
    rps: round(median(of(name, 'rps')), 0),
    cpuUs: round(median(of(name, 'cpuUs')), 2),
    cpuUsQuartiles: quartiles(of(name, 'cpuUs')),
    errors: of(name, 'errors').reduce((sum, value) => sum + value, 0)
  }]))
  const pair = (own, other) => ({
    own,
    other,
    cpu: round(median(ratios(own, other, 'cpuUs')), 3),
    cpuQuartiles: quartiles(ratios(own, other, 'cpuUs')),
    rps: round(median(ratios(own, other, 'rps')), 3),
    rpsQuartiles: quartiles(ratios(own, other, 'rps'))
  })
  return { page: set.page, encoding: set.encoding, servers, pairs: [pair(cached, baseline), pair(cached, headers), pair(headers, baseline)], renders: set.renders[cached] }
}

function targetsOf (summaries) {
  const targets = []
  for (const summary of summaries) {
    const [vsBare] = summary.pairs
    const label = `hit (${summary.encoding}), ${summary.page}`
    targets.push(judgeTarget({ label: `${label}: CPU/request ≤ 1.10× ${vsBare.other}`, actual: vsBare.cpu, target: 1.1, atMost: true }))
    targets.push(judgeTarget({ label: `${label}: req/s ≥ 0.90× ${vsBare.other}`, actual: vsBare.rps, target: 0.9 }))
  }
  return targets
}

function sectionMarkdown (data) {
  const { settings, generator, plan, machine, summaries, targets } = data
  const lines = [
    '## Hits, paired windows',
    '',
    `Written by \`npm run bench:hits\` on ${data.date}. Issue 13's hit targets are judged here.`,
    '',
    `- Machine: ${machineLine(machine)}.`,
    `- Load: ${generator.name} ${generator.version}, ${settings.connections} connections; the servers compared run side by side, pinned to CPU ${plan.server.join(', ')}, the load generator on CPU ${plan.load.join(', ')}.`,
    `- Each page and encoding: the three servers started together, ${settings.warmup} s of warm-up each, then ${settings.windows} rounds, each giving every server one ${settings.window} s window, the order rotated each round. Ratios are medians of the per-round ratios (each window against the other server's window of the same round); IQR: their 25th-75th percentile.`,
    ...busyAndTargetLines(data.busyBefore, data.busyAfter, targets),
    'baseline is the bare route sending the body with a Content-Type only; baseline-headers sends the same body with the',
    "hit's headers (ETag, Cache-Control, Last-Modified, Vary, Age, x-ssr-cache): the same bytes on the wire as a hit, so",
    "cached ÷ baseline-headers is what the plugin's lookup and send cost, and baseline-headers ÷ baseline what the headers do.",
    '',
    markdownTable(['page', 'encoding', 'comparison', 'CPU/request ratio', 'IQR', 'req/s ratio', 'IQR'], summaries.flatMap((summary) => summary.pairs.map((pair) => [
      summary.page, summary.encoding, `${pair.own} ÷ ${pair.other}`, formatRatio(pair.cpu), `${formatRatio(pair.cpuQuartiles[0])}-${formatRatio(pair.cpuQuartiles[1])}`,
      formatRatio(pair.rps), `${formatRatio(pair.rpsQuartiles[0])}-${formatRatio(pair.rpsQuartiles[1])}`
    ])), 3),
    '',
    markdownTable(['page', 'server', 'req/s', 'CPU µs/request', 'IQR'], summaries.flatMap((summary) => Object.entries(summary.servers).map(([name, server]) => [
      summary.page, name, formatInt(server.rps), server.cpuUs.toFixed(1), `${server.cpuUsQuartiles[0].toFixed(1)}-${server.cpuUsQuartiles[1].toFixed(1)}`
    ])), 2),
    '',
    `Checks: every response of every server checked once before measuring (status, encoding, x-ssr-cache HIT-HOT for cached, the body byte for byte); renders during the windows: ${summaries.map((summary) => `${summary.page} ${summary.encoding} ${summary.renders}`).join(', ')} (0 means every request was a hit).`,
    ''
  ]
  return lines.join('\n')
}

async function main () {
  const { settings, changed } = readSettings({
    window: { env: 'BENCH_WINDOW', value: 1 },
    windows: { env: 'BENCH_WINDOWS', value: 15 },
    warmup: { env: 'BENCH_WARMUP', value: 2 },
    connections: { env: 'BENCH_CONNECTIONS', value: 100 }
  })
  const wanted = process.env.BENCH_PAGES === undefined || process.env.BENCH_PAGES === '' ? pageNames : process.env.BENCH_PAGES.split(',').map((name) => name.trim())
  for (const name of wanted) if (!pageNames.includes(name)) throw new Error(`BENCH_PAGES: unknown "${name}"; expected some of ${pageNames.join(', ')}`)
  if (wanted !== pageNames) changed.push(`BENCH_PAGES=${process.env.BENCH_PAGES}`)
  const plan = cpuPlan()
  const generator = await chooseLoadGenerator()
  const machine = describeMachine()
  const minutes = Math.round(wanted.length * 2 * 3 * (settings.warmup + settings.windows * (settings.window + 0.3) + 2) / 60)
  log(`npm run bench:hits: ${wanted.length} pages × 2 encodings × 3 servers, ${settings.windows} windows of ${settings.window} s each, about ${minutes} min`)
  log(`machine: ${machineLine(machine)}`)
  log(`cpus: ${describePlan(plan)}`)
  const busyBefore = await sampleCpuBusy()
  const build = await prepareBuild()
  const context = { plan, generator, settings, build }
  try {
    const summaries = []
    for (const page of wanted) {
      for (const encoding of Object.keys(sets)) {
        const summary = summarize(await measureSet(context, page, encoding))
        summaries.push(summary)
        for (const pair of summary.pairs) log(`${page} ${encoding}: ${pair.own} ÷ ${pair.other}: CPU ${formatRatio(pair.cpu)}, req/s ${formatRatio(pair.rps)}`)
      }
    }
    const busyAfter = await sampleCpuBusy()
    const problems = summaries.filter((summary) => summary.renders !== 0).map((summary) => `${summary.page} ${summary.encoding}: the plugin rendered during the windows`)
    for (const summary of summaries) for (const [name, server] of Object.entries(summary.servers)) if (server.errors > 0) problems.push(`${summary.page} ${name}: ${server.errors} errors`)
    const flags = flagsFor({ changed, busyBefore, busyAfter, busyThreshold, extra: problems })
    const targets = targetsOf(summaries)
    const date = new Date().toISOString().slice(0, 10)
    const data = { date, flags, machine, plan: { server: plan.server, load: plan.load }, generator: { name: generator.name, version: generator.version }, settings, busyBefore: round(busyBefore, 3), busyAfter: round(busyAfter, 3), summaries, targets }
    const jsonPath = await writeResultsJson('hits', data)
    const mdPath = await writeResultsSection('hits', { date, flags }, sectionMarkdown(data))
    console.log('\n' + textTable(['target', 'met'], targets.map((target) => [target.label, target.met ? 'met' : `missed (${formatRatio(target.actual)})`])) + '\n')
    console.log(`other processes: ${formatPercent(busyBefore)} before, ${formatPercent(busyAfter)} after`)
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

runMain(main)
