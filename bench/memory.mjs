// npm run bench:memory (also the last part of npm run bench): resident memory of a server with the plugin.
//
// What runs: servers from bench/server.mjs, each in a fresh process of its own (started with --expose-gc, pinned
// like the HTTP benchmark's servers), serving the listing page (bench/lib/pages.mjs, ~20 KB):
//   bare       the HTTP benchmark's baseline: Fastify sending the page as a Buffer, no plugin. The baseline.
//   plugin-1   the React example's server (the plugin, its cache on) with 1 worker thread
//   plugin-2   the same with 2 worker threads
// Where the load comes from: autocannon in a process of its own, pinned away from the server, 100 connections, until
// REQUESTS responses (100,000), every one a cache hit. autocannon because it stops after an exact number of requests
// (wrk only runs for a duration); how fast it can go does not matter here.
// Procedure per server: start; render the page a few times per worker so every worker has loaded the bundle and
// rendered; wait a second; read memory ("after start"), collect garbage in the main thread and read again; send the
// requests; read memory ("after load"), collect garbage and read again: the difference of the two after-GC figures is
// what the load left behind. RSS counts the whole process, worker threads included; the heap figures are the main
// thread's.
//
// Settings (environment): BENCH_MEMORY_REQUESTS=100000, BENCH_CONNECTIONS=100, BENCH_NOTE="text for the top of
// RESULTS.md". Non-default settings or a busy machine mark the section as not a result.
// Writes: bench/results.json (key "memory") and the memory section of bench/RESULTS.md.

import { prepareBuild } from './lib/build.mjs'
import { checkResponse } from './lib/check.mjs'
import { chooseFixedCountGenerator, errorCount, runLoad } from './lib/loadgen.mjs'
import { busyThreshold, cpuPlan, describeMachine, describePlan, machineLine, sampleCpuBusy } from './lib/machine.mjs'
import { pages } from './lib/pages.mjs'
import { startServer } from './lib/processes.mjs'
import { flagsFor, readSettings, writeResultsJson, writeResultsSection, reportWritten, runMain } from './lib/report.mjs'
import { formatInt, formatMiB, markdownTable, textTable } from './lib/stats.mjs'

function log (line = '') {
  process.stderr.write(line + '\n')
}

function pick (usage) {
  return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers, peakRss: usage.peakRss }
}

const page = pages.listing

async function measureServer (context, { name, kind, threads }) {
  const { plan, generator, settings, build } = context
  const config = { ...build.serverConfig, ssr: threads === undefined ? {} : { threads } }
  const server = await startServer(plan, kind, config, { execArgv: ['--expose-gc'] })
  try {
    const url = server.url(page.path)
    await server.ask('warm', { page: page.name })
    // The page is then in the cache: the check's first request renders and stores it, the second is a hit.
    await checkResponse(url, {}, kind === 'bare' ? {} : { cache: 'HIT-HOT' }, build.references[page.name], { warm: kind !== 'bare' })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const afterStart = pick(await server.ask('memory'))
    const afterStartGc = pick(await server.ask('memory', { gc: true, resetPeak: true }))
    const before = await server.ask('metrics')
    const load = await runLoad(generator, plan, { url, connections: settings.connections, seconds: 300, requests: settings.requests })
    const afterLoad = pick(await server.ask('memory'))
    const afterGc = pick(await server.ask('memory', { gc: true }))
    const metrics = await server.ask('metrics')
    return {
      name,
      kind,
      threads: server.info.threads,
      requests: load.requests,
      errors: errorCount(load),
      rendersDuringLoad: metrics.renders === null ? null : metrics.renders - before.renders,
      afterStart,
      afterStartGc,
      afterLoad,
      afterGc
    }
  } finally {
    await server.stop()
  }
}

const tableHeader = ['server', 'worker threads', 'RSS after start', 'after start + GC', 'after load', 'after load + GC', 'peak RSS during load', 'main heap used / committed after load + GC', 'requests']

function tableRows (rows) {
  return rows.map((row) => [
    row.name,
    String(row.threads),
    formatMiB(row.afterStart.rss),
    formatMiB(row.afterStartGc.rss),
    formatMiB(row.afterLoad.rss),
    formatMiB(row.afterGc.rss),
    formatMiB(row.afterLoad.peakRss),
    `${formatMiB(row.afterGc.heapUsed)} / ${formatMiB(row.afterGc.heapTotal)}`,
    formatInt(row.requests)
  ])
}

function derived (rows) {
  const bare = rows.find((row) => row.kind === 'bare')
  const plugins = rows.filter((row) => row.kind !== 'bare').sort((a, b) => a.threads - b.threads)
  const lines = []
  if (bare !== undefined && plugins.length > 0) {
    lines.push(`The plugin with 1 worker and the React bundle loaded adds ${formatMiB(plugins[0].afterStart.rss - bare.afterStart.rss)} ` +
      'to the bare server at start.')
  }
  if (plugins.length > 1) {
    const [one, many] = [plugins[0], plugins.at(-1)]
    lines.push(`Each further worker thread adds ${formatMiB((many.afterStart.rss - one.afterStart.rss) / (many.threads - one.threads))} at start ` +
      `(${one.threads} → ${many.threads} threads).`)
  }
  for (const row of [bare, ...plugins].filter((entry) => entry !== undefined)) {
    const renders = row.rendersDuringLoad === null ? '' : ` (${row.rendersDuringLoad === 0 ? 'all cache hits, no render' : `${row.rendersDuringLoad} renders`})`
    lines.push(`${row.name}: ${formatInt(row.requests)} requests${renders} changed RSS by ${signedMiB(row.afterGc.rss - row.afterStartGc.rss)} ` +
      `and the main thread's heap by ${signedMiB(row.afterGc.heapUsed - row.afterStartGc.heapUsed)} used, ` +
      `${signedMiB(row.afterGc.heapTotal - row.afterStartGc.heapTotal)} committed (after load + GC against after start + GC).`)
  }
  return { lines, perWorker: plugins.length > 1 ? (plugins.at(-1).afterStart.rss - plugins[0].afterStart.rss) / (plugins.at(-1).threads - plugins[0].threads) : null }
}

/** The figures issue 13 asks for, in one sentence: RSS with 1 and 2 workers, after start and after the hits. */
function headline (rows, requests) {
  const describe = (row) => `${formatMiB(row.afterStart.rss)} after start, ${formatMiB(row.afterLoad.rss)} after ${formatInt(requests)} hits`
  const parts = rows.filter((row) => row.kind !== 'bare').map((row) => `with ${row.threads} worker${row.threads === 1 ? '' : 's'} ${describe(row)}`)
  const bare = rows.find((row) => row.kind === 'bare')
  return `**RSS ${parts.join('; ')}**${bare === undefined ? '' : ` (bare Fastify: ${formatMiB(bare.afterStart.rss)} after start, ${formatMiB(bare.afterLoad.rss)} after the same number of requests)`}.`
}

function signedMiB (bytes) {
  return `${bytes < 0 ? '−' : '+'}${formatMiB(Math.abs(bytes))}`
}

async function main () {
  const { settings, changed } = readSettings({
    requests: { env: 'BENCH_MEMORY_REQUESTS', value: 100_000 },
    connections: { env: 'BENCH_CONNECTIONS', value: 100 }
  })
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const plan = cpuPlan()
  const generator = await chooseFixedCountGenerator()
  const servers = [{ name: 'bare', kind: 'bare' }, { name: 'plugin-1', kind: 'plugin', threads: 1 }, { name: 'plugin-2', kind: 'plugin', threads: 2 }]
  log(`npm run bench:memory: ${servers.map((server) => server.name).join(', ')}, ${formatInt(settings.requests)} cached requests each`)
  log(`machine: ${machineLine(machine)}`)
  const busyBefore = await sampleCpuBusy()
  const build = await prepareBuild()
  try {
    const context = { plan, generator, settings, build }
    const rows = []
    for (const server of servers) {
      const row = await measureServer(context, server)
      rows.push(row)
      log(`${row.name.padEnd(9)} RSS ${formatMiB(row.afterStart.rss)} after start, ${formatMiB(row.afterLoad.rss)} after ${formatInt(row.requests)} requests, ${formatMiB(row.afterGc.rss)} after GC`)
    }
    const busyAfter = await sampleCpuBusy()
    const errors = rows.filter((row) => row.errors > 0).map((row) => `${row.name} had ${row.errors} errors under load`)
    const flags = flagsFor({ changed, busyBefore, busyAfter, busyThreshold, extra: errors })
    const date = startedAt.slice(0, 10)
    const { lines, perWorker } = derived(rows)
    const data = { date, startedAt, flags, machine, settings, generator: { name: generator.name, version: generator.version }, rows, perWorkerRss: perWorker }
    const jsonPath = await writeResultsJson('memory', data)
    const body = [
      '## Memory',
      '',
      `Written by \`npm run bench:memory\` on ${date}.`,
      '',
      `- Machine: ${machineLine(machine)}.`,
      `- Each server in a fresh process; ${describePlan(plan)}. Load: ${generator.name} ${generator.version} (${generator.why}), ` +
        `${settings.connections} connections, until ${formatInt(settings.requests)} responses for \`${page.path}\` (${page.about}).`,
      '- "After start": ready, each worker has loaded the React bundle and rendered, the page is cached, one second of rest.',
      '  "+ GC": then a full garbage collection of the main thread. "After load": after the requests. "Peak during load":',
      '  the highest RSS from the end of start-up to the end of the load (Linux VmHWM, reset in between). RSS is the',
      "  whole process, worker threads included; the heap is the main thread's.",
      '',
      headline(rows, settings.requests),
      '',
      markdownTable(tableHeader, tableRows(rows)),
      '',
      ...lines.map((line) => `- ${line}`),
      ''
    ].join('\n')
    const mdPath = await writeResultsSection('memory', { date, flags }, body)
    console.log('\n' + textTable(tableHeader, tableRows(rows)) + '\n')
    console.log(headline(rows, settings.requests).replace(/\*\*/g, ''))
    for (const line of lines) console.log(line)
    reportWritten(flags, [jsonPath, mdPath])
  } finally {
    await build.cleanup()
  }
}

runMain(main)
