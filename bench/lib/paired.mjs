// Paired windows (bench:hits, bench:misses): the servers compared run side by side, all pinned to the server CPU and
// only the one under load busy, and the load moves between them every `window` seconds, `windows` times, the order
// rotated each round. Each window is compared with the other servers' windows of the same round, seconds apart; the
// medians of those per-round ratios are the figures. On this VM a CPU's speed drifts between runs minutes apart by
// more than the differences measured, which side-by-side windows cancel out.

import { prepareBuild } from './build.mjs'
import { checkResponse } from './check.mjs'
import { pairedScenarios, scenarios } from './http-plan.mjs'
import { chooseLoadGenerator, errorCount, runLoad } from './loadgen.mjs'
import { busyThreshold, cpuPlan, describeMachine, describePlan, machineLine, sampleCpuBusy } from './machine.mjs'
import { pageNames, pages } from './pages.mjs'
import { startServer } from './processes.mjs'
import { busyAndTargetLines, flagsFor, readSettings, reportWritten, writeResultsJson, writeResultsSection } from './report.mjs'
import { formatInt, formatPercent, formatRatio, markdownTable, median, percentile, round, textTable } from './stats.mjs'

const scenario = (name) => scenarios.find((entry) => entry.name === name) ?? pairedScenarios.find((entry) => entry.name === name)

/** A server of a bench:http scenario for `page`, its response checked (status, encoding, cache state, body). */
async function startChecked (context, name, page) {
  const { plan, build } = context
  const entry = scenario(name)
  const server = await startServer(plan, entry.server, { ...build.serverConfig, ssr: entry.ssr, schedBatch: entry.schedBatch })
  if (server.unavailable !== undefined) throw new Error(`${name} cannot run here: ${server.unavailable}`)
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

/**
 * The servers `names` (bench:http scenarios) for one page, started together, `warmup` s of load each, then `windows`
 * rounds of one `window` each; renders counted over the rounds (null for a server that does not report them).
 */
export async function measureSet (context, page, names) {
  const { settings } = context
  const started = []
  try {
    for (const name of names) started.push(await startChecked(context, name, page))
    for (const one of started) await window(context, one, settings.warmup)
    for (const one of started) one.renders = 0
    const rounds = []
    for (let index = 0; index < settings.windows; index++) {
      const order = started.map((_, position) => started[(position + index) % started.length])
      const measured = {}
      for (const one of order) measured[one.name] = await window(context, one, settings.window)
      rounds.push(measured)
    }
    return { page, names, rounds, renders: Object.fromEntries(started.map((one) => [one.name, one.renders])) }
  } finally {
    for (const one of started) await one.server.stop()
  }
}

/** Each server's medians over its windows, and each pair [own, other] as medians of its per-round ratios, with IQRs. */
export function summarizeSet (set, pairs) {
  const of = (name, field) => set.rounds.map((measured) => measured[name][field])
  const ratios = (own, other, field) => set.rounds.map((measured) => measured[own][field] / measured[other][field])
  const quartiles = (values) => [round(percentile(values, 25), 3), round(percentile(values, 75), 3)]
  const servers = Object.fromEntries(set.names.map((name) => [name, {
    rps: round(median(of(name, 'rps')), 0),
    cpuUs: round(median(of(name, 'cpuUs')), 2),
    cpuUsQuartiles: quartiles(of(name, 'cpuUs')),
    errors: of(name, 'errors').reduce((sum, value) => sum + value, 0)
  }]))
  return {
    servers,
    pairs: pairs.map(([own, other]) => ({
      own,
      other,
      cpu: round(median(ratios(own, other, 'cpuUs')), 3),
      cpuQuartiles: quartiles(ratios(own, other, 'cpuUs')),
      rps: round(median(ratios(own, other, 'rps')), 3),
      rpsQuartiles: quartiles(ratios(own, other, 'rps'))
    }))
  }
}

/**
 * The whole of a paired-window bench: settings (BENCH_WINDOW, BENCH_WINDOWS, BENCH_WARMUP, BENCH_CONNECTIONS,
 * BENCH_PAGES), the machine and its load before and after, a fresh build, then `measurePage` for each page asked
 * (its summaries), then the targets, bench/results.json and the section of bench/RESULTS.md. `bench`: its name and
 * section; `servers`: how many servers a page's set has (for the time estimate); `problemsOf`: what makes the run
 * not a result besides its settings; `targetsOf`, `sectionMarkdown`: from the summaries.
 */
export async function runPaired ({ name, section, servers, measurePage, problemsOf, targetsOf, sectionMarkdown }) {
  const log = (line = '') => process.stderr.write(line + '\n')
  const { settings, changed } = readSettings({
    window: { env: 'BENCH_WINDOW', value: 1 },
    windows: { env: 'BENCH_WINDOWS', value: 15 },
    warmup: { env: 'BENCH_WARMUP', value: 2 },
    connections: { env: 'BENCH_CONNECTIONS', value: 100 }
  })
  const wanted = process.env.BENCH_PAGES === undefined || process.env.BENCH_PAGES === '' ? pageNames : process.env.BENCH_PAGES.split(',').map((page) => page.trim())
  for (const page of wanted) if (!pageNames.includes(page)) throw new Error(`BENCH_PAGES: unknown "${page}"; expected some of ${pageNames.join(', ')}`)
  if (wanted !== pageNames) changed.push(`BENCH_PAGES=${process.env.BENCH_PAGES}`)
  const plan = cpuPlan()
  const generator = await chooseLoadGenerator()
  const machine = describeMachine()
  const minutes = Math.round(wanted.length * servers * (settings.warmup + settings.windows * (settings.window + 0.3) + 2) / 60)
  log(`npm run ${name}: ${wanted.length} pages, ${servers} servers a page, ${settings.windows} windows of ${settings.window} s each, about ${minutes} min`)
  log(`machine: ${machineLine(machine)}`)
  log(`cpus: ${describePlan(plan)}`)
  const busyBefore = await sampleCpuBusy()
  const build = await prepareBuild()
  const context = { plan, generator, settings, build }
  try {
    const summaries = []
    for (const page of wanted) {
      for (const summary of await measurePage(context, page)) {
        summaries.push(summary)
        for (const pair of summary.pairs) log(`${summary.label}: ${pair.own} ÷ ${pair.other}: CPU ${formatRatio(pair.cpu)}, req/s ${formatRatio(pair.rps)}`)
      }
    }
    const busyAfter = await sampleCpuBusy()
    const problems = problemsOf(summaries)
    for (const summary of summaries) for (const [server, figures] of Object.entries(summary.servers)) if (figures.errors > 0) problems.push(`${summary.label} ${server}: ${figures.errors} errors`)
    const flags = flagsFor({ changed, busyBefore, busyAfter, busyThreshold, extra: problems })
    const targets = targetsOf(summaries)
    const date = new Date().toISOString().slice(0, 10)
    const data = { date, flags, machine, plan: { server: plan.server, load: plan.load }, generator: { name: generator.name, version: generator.version }, settings, busyBefore: round(busyBefore, 3), busyAfter: round(busyAfter, 3), summaries, targets }
    const jsonPath = await writeResultsJson(section, data)
    const mdPath = await writeResultsSection(section, { date, flags }, sectionMarkdown(data))
    console.log('\n' + textTable(['target', 'met'], targets.map((target) => [target.label, target.met ? 'met' : `missed (${formatRatio(target.actual)})`])) + '\n')
    console.log(`other processes: ${formatPercent(busyBefore)} before, ${formatPercent(busyAfter)} after`)
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

/** The lines every paired section opens with: machine, load, procedure (`servers` says what runs), targets. */
export function pairedIntro (data, servers) {
  const { settings, generator, plan, machine, targets } = data
  return [
    `- Machine: ${machineLine(machine)}.`,
    `- Load: ${generator.name} ${generator.version}, ${settings.connections} connections; the servers compared run side by side, pinned to CPU ${plan.server.join(', ')}, the load generator on CPU ${plan.load.join(', ')}.`,
    `- Each page: ${servers} started together, ${settings.warmup} s of warm-up each, then ${settings.windows} rounds, each giving every server one ${settings.window} s window, the order rotated each round. Ratios are medians of the per-round ratios (each window against the other server's window of the same round); IQR: their 25th-75th percentile.`,
    ...busyAndTargetLines(data.busyBefore, data.busyAfter, targets)
  ]
}

/** Each server's medians, per page: req/s, CPU µs per request and its IQR. */
export function serversTable (summaries) {
  return markdownTable(['page', 'server', 'req/s', 'CPU µs/request', 'IQR'], summaries.flatMap((summary) => Object.entries(summary.servers).map(([name, server]) => [
    summary.page, name, formatInt(server.rps), server.cpuUs.toFixed(1), `${server.cpuUsQuartiles[0].toFixed(1)}-${server.cpuUsQuartiles[1].toFixed(1)}`
  ])), 2)
}
