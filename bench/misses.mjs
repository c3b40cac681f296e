// npm run bench:misses (part of npm run bench): the plugin with the cache off against rendering in the route handler,
// on the same CPU, measured in short windows alternated many times, where issue 13's cache-off targets are judged.
//
// Why a script of its own: as for hits (bench/hits.mjs), bench:http's runs of fresh servers drift between rounds
// (a product page's ratio measured 0.66x, 0.91x and 1.01x in three rounds of one run), more than the plugin's cost
// per miss. Here the servers compared run side by side in paired windows (bench/lib/paired.mjs), seconds apart.
//
// What runs, per page (bench/lib/pages.mjs: product ~1.6 KB, listing ~20 KB, large ~100 KB): naive (renderToString
// in the route handler, the same renderer as the bundle), render-inline (the plugin, `cache: false`, `threads: 0`)
// and render (the plugin, `cache: false`, 1 worker thread), each checked first (bench/lib/check.mjs), all pinned to
// the server CPU, the load generator on the other. Every request of the plugin renders. Where util-linux's chrt runs,
// also render-batch: render with the server process under SCHED_BATCH (`chrt -b 0`), the README's advice for a worker
// on one CPU (not a default, so not judged against a target).
// Load: wrk (autocannon when missing), 100 connections. CPU per request: utime + stime of every thread of the server
// process over the window, per response.
// Settings (environment): BENCH_WINDOW=1 (seconds), BENCH_WINDOWS=15, BENCH_WARMUP=2 (seconds, each server, once),
// BENCH_PAGES=product,listing,large, BENCH_CONNECTIONS=100. Any non-default setting, or a busy machine, marks the
// section as not a result.
// Writes: bench/results.json (key "misses") and the Misses section of bench/RESULTS.md.

import { execFileSync } from 'node:child_process'
import { measureSet, pairedIntro, runPaired, serversTable, summarizeSet } from './lib/paired.mjs'
import { runMain } from './lib/report.mjs'
import { formatInt, formatRatio, judgeTarget, markdownTable } from './lib/stats.mjs'

function chrtRuns () {
  try {
    execFileSync('chrt', ['--max'], { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}

/** The servers compared on each page, by their scenario names (bench/lib/http-plan.mjs), and the pairs reported. */
const batch = process.platform === 'linux' && chrtRuns()
const names = ['naive', 'render-inline', 'render', ...(batch ? ['render-batch'] : [])]
const pairs = [['render-inline', 'naive'], ['render', 'naive'], ['render-inline', 'render'], ...(batch ? [['render-batch', 'naive'], ['render-batch', 'render']] : [])]
const plugins = names.filter((name) => name !== 'naive')
/** What each plugin server is, in a target's words. */
const described = { 'render-inline': 'threads: 0', render: '1 thread' }

function summarize (set) {
  const { servers, pairs: compared } = summarizeSet(set, pairs)
  return { page: set.page, label: set.page, servers, pairs: compared, renders: set.renders }
}

function targetsOf (summaries) {
  const targets = []
  for (const summary of summaries) {
    for (const pair of summary.pairs.filter((one) => one.other === 'naive' && described[one.own] !== undefined)) {
      const judged = judgeTarget({ label: `cache off, ${described[pair.own]}, same CPU as naive, ${summary.page}: req/s ≥ 0.85× naive`, actual: pair.rps, target: 0.85 })
      targets.push({ ...judged, text: `${judged.text}; CPU/request ${formatRatio(pair.cpu)} naive` })
    }
  }
  return targets
}

function sectionMarkdown (data) {
  const { summaries } = data
  const lines = [
    '## Misses, paired windows',
    '',
    `Written by \`npm run bench:misses\` on ${data.date}. Issue 13's cache-off targets on one CPU are judged here.`,
    '',
    ...pairedIntro(data, `naive (renderToString in the route handler), render-inline (the plugin, \`cache: false\`, \`threads: 0\`) and render (\`cache: false\`, 1 worker thread)${batch ? ', and render-batch (render with the whole server process under SCHED_BATCH, `chrt -b 0 node …`: an operator\'s choice for one CPU, not judged against a target)' : ''}`),
    markdownTable(['page', 'comparison', 'req/s ratio', 'IQR', 'CPU/request ratio', 'IQR'], summaries.flatMap((summary) => summary.pairs.map((pair) => [
      summary.page, `${pair.own} ÷ ${pair.other}`, formatRatio(pair.rps), `${formatRatio(pair.rpsQuartiles[0])}-${formatRatio(pair.rpsQuartiles[1])}`,
      formatRatio(pair.cpu), `${formatRatio(pair.cpuQuartiles[0])}-${formatRatio(pair.cpuQuartiles[1])}`
    ])), 2),
    '',
    serversTable(summaries),
    '',
    `Checks: every server's response checked once before measuring (status, x-ssr-cache BYPASS for the plugin, the body byte for byte); renders during the windows: ${summaries.map((summary) => `${summary.page} ${plugins.map((name) => `${name} ${formatInt(summary.renders[name])}`).join(', ')}`).join('; ')}.`,
    ''
  ]
  return lines.join('\n')
}

runMain(() => runPaired({
  name: 'bench:misses',
  section: 'misses',
  servers: names.length,
  measurePage: async (context, page) => [summarize(await measureSet(context, page, names))],
  problemsOf: (summaries) => summaries.flatMap((summary) => plugins
    .filter((name) => !(summary.renders[name] > 0)).map((name) => `${summary.page} ${name}: the plugin did not render during the windows`)),
  targetsOf,
  sectionMarkdown
}))
