// npm run bench:hits (part of npm run bench): a cache hit against the bare route sending the same bytes, measured in
// short windows alternated many times, where issue 13's hit targets are judged.
//
// Why a script of its own: bench:http measures each scenario in three runs of 5 s, each a fresh server minutes apart
// from the run it is compared with. On this shared VM the speed of a CPU drifts by ±20-80% between such runs, far more
// than the difference being measured (a few µs on a ~25 µs request). Here the servers being compared run side by side
// in paired windows (bench/lib/paired.mjs), seconds apart.
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

import { measureSet, pairedIntro, runPaired, serversTable, summarizeSet } from './lib/paired.mjs'
import { runMain } from './lib/report.mjs'
import { formatRatio, judgeTarget, markdownTable } from './lib/stats.mjs'

/** Per encoding: the three servers compared, by their bench:http scenario names. */
const sets = {
  identity: ['baseline', 'baseline-headers', 'cached'],
  br: ['baseline-br', 'baseline-headers-br', 'cached-br']
}

/** Medians of each server's windows, and of the per-round ratios of each against the baseline and baseline-headers. */
function summarize (set, encoding) {
  const [baseline, headers, cached] = set.names
  const { servers, pairs } = summarizeSet(set, [[cached, baseline], [cached, headers], [headers, baseline]])
  return { page: set.page, encoding, label: `${set.page} ${encoding}`, servers, pairs, renders: set.renders[cached] }
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
  const { summaries } = data
  const lines = [
    '## Hits, paired windows',
    '',
    `Written by \`npm run bench:hits\` on ${data.date}. Issue 13's hit targets are judged here.`,
    '',
    ...pairedIntro(data, 'and encoding, the three servers'),
    'baseline is the bare route sending the body with a Content-Type only; baseline-headers sends the same body with the',
    "hit's headers (ETag, Cache-Control, Last-Modified, Vary, Age, x-ssr-cache): the same bytes on the wire as a hit, so",
    "cached ÷ baseline-headers is what the plugin's lookup and send cost, and baseline-headers ÷ baseline what the headers do.",
    '',
    markdownTable(['page', 'encoding', 'comparison', 'CPU/request ratio', 'IQR', 'req/s ratio', 'IQR'], summaries.flatMap((summary) => summary.pairs.map((pair) => [
      summary.page, summary.encoding, `${pair.own} ÷ ${pair.other}`, formatRatio(pair.cpu), `${formatRatio(pair.cpuQuartiles[0])}-${formatRatio(pair.cpuQuartiles[1])}`,
      formatRatio(pair.rps), `${formatRatio(pair.rpsQuartiles[0])}-${formatRatio(pair.rpsQuartiles[1])}`
    ])), 3),
    '',
    serversTable(summaries),
    '',
    `Checks: every response of every server checked once before measuring (status, encoding, x-ssr-cache HIT-HOT for cached, the body byte for byte); renders during the windows: ${summaries.map((summary) => `${summary.page} ${summary.encoding} ${summary.renders}`).join(', ')} (0 means every request was a hit).`,
    ''
  ]
  return lines.join('\n')
}

runMain(() => runPaired({
  name: 'bench:hits',
  section: 'hits',
  servers: 2 * 3,
  measurePage: async (context, page) => {
    const summaries = []
    for (const encoding of Object.keys(sets)) summaries.push(summarize(await measureSet(context, page, sets[encoding]), encoding))
    return summaries
  },
  problemsOf: (summaries) => summaries.filter((summary) => summary.renders !== 0).map((summary) => `${summary.label}: the plugin rendered during the windows`),
  targetsOf,
  sectionMarkdown
}))
