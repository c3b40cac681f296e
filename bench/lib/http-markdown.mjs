// The HTTP section of bench/RESULTS.md and the console tables, from bench/lib/http-summary.mjs's results.

import { dataConnections } from './http-plan.mjs'
import { machineLine } from './machine.mjs'
import { pages } from './pages.mjs'
import { formatInt, formatMs, formatPercent, formatRatio, markdownTable, textTable } from './stats.mjs'
import { busyAndTargetLines } from './report.mjs'

const caseHeader = ['scenario', 'server CPUs', 'req/s', 'CPU µs/request', 'main thread', 'workers', 'p50', 'p99', 'bytes/response', 'spread']

function us (value) {
  return Number.isFinite(value) ? value.toFixed(1) : 'n/a'
}

function caseRows (rows, page) {
  return rows.filter((row) => row.page === page).map((row) => {
    if (row.unavailable !== undefined) return [row.scenario, '', 'not available', '', '', '', '', '', '', '']
    return [
      row.scenario,
      row.pinned ? 'pinned' : 'all',
      formatInt(row.requestsPerSecond),
      us(row.cpuUsPerRequest),
      us(row.mainUsPerRequest),
      row.threads === 0 ? '' : us(row.workersUsPerRequest),
      formatMs(row.p50Ms),
      formatMs(row.p99Ms),
      formatInt(row.bytesPerResponse),
      `±${formatPercent(row.spread / 2)}`
    ]
  })
}

const comparisonHeader = ['comparison', 'page', 'req/s ratio', 'CPU/request ratio', 'req/s ratio per round']

function comparisonRows (comparisons) {
  return comparisons.map((entry) => [
    `${entry.own} ÷ ${entry.other}`,
    entry.page,
    entry.unavailable === undefined ? formatRatio(entry.rps) : 'not available',
    entry.unavailable === undefined ? formatRatio(entry.cpu) : '',
    entry.unavailable === undefined ? entry.rpsPerRound.map(formatRatio).join(', ') : ''
  ])
}

function profileMarkdown (profile) {
  const lines = [
    `**${profile.id}** under \`node --cpu-prof\` (one extra run, not in the tables; ${formatInt(profile.requestsPerSecondWhileProfiled)} req/s ` +
      `while profiled, start-up and warm-up included; files in \`${profile.dir}/\`, one per thread, open in Chrome DevTools):`,
    ''
  ]
  for (const thread of profile.threads) {
    const packages = thread.packages.slice(0, 6).map((entry) => `${entry.name} ${formatPercent(entry.share)}`).join(', ')
    const functions = thread.functions.slice(0, 6).map((entry) => `\`${entry.name}\` ${formatPercent(entry.share, 1)}`).join(', ')
    lines.push(`- ${thread.thread} (${formatInt(thread.sampledMs)} ms sampled): idle ${formatPercent(thread.idle)}, garbage collection ` +
      `${formatPercent(thread.garbageCollector)}, V8 "(program)" ${formatPercent(thread.program)}; self time by package: ${packages}; ` +
      `top functions: ${functions}.`)
  }
  return lines.join('\n') + '\n'
}

function checkLines ({ rows, settings }) {
  const ok = rows.filter((row) => row.unavailable === undefined)
  const lines = [
    'Before each measured run one request checked the response: status 200, the scenario\'s Content-Encoding and ' +
      '`x-ssr-cache`, the decoded body byte for byte against the page the plugin rendered, and for baseline-br and ' +
      'cached-br the brotli body byte for byte against the one the plugin\'s encoder makes (so the two send the same bytes).'
  ]
  for (const row of ok.filter((entry) => entry.scenario.startsWith('cached') || entry.scenario.startsWith('data-'))) {
    lines.push(`${row.id}: ${row.rendersPerRequest === 0 ? 'no render during the measured seconds (every request a cache hit)' : `**${row.rendersPerRequest} renders per request**`}` +
      (row.scenario.startsWith('data-') ? `; route data built or loaded ${row.dataCallsPerRequest} times per request` : '') + '.')
  }
  for (const row of ok.filter((entry) => entry.scenario.startsWith('render'))) {
    lines.push(`${row.id}: ${row.rendersPerRequest} renders per request ${row.threads === 0 ? 'in the main thread (no worker thread)' : `on ${row.threads} worker thread(s)`}.`)
  }
  for (const row of ok.filter((entry) => entry.affinity !== null)) {
    lines.push(`${row.id}: CPUs allowed per thread (from /proc): main thread ${row.affinity.main}, worker threads ${row.affinity.workers.join(' and ') || 'not told apart'}.`)
  }
  const saturated = ok.filter((row) => row.pinned && row.loadCpuBusy !== null && row.loadCpuBusy >= 0.95)
  if (saturated.length > 0) {
    lines.push(`The load generator's CPU was ≥ 95% busy during ${saturated.map((row) => row.id).join(', ')}: their req/s may be wrk's ceiling ` +
      'rather than the server\'s (CPU µs/request is not affected).')
  }
  const errors = ok.filter((row) => row.errors > 0)
  lines.push(errors.length > 0
    ? `**Errors** during measurement: ${errors.map((row) => `${row.id} ${row.errors}`).join(', ')}.`
    : 'No socket errors, timeouts or non-2xx responses during measurement.')
  if (settings.reps < 2) lines.push('One round only: no spread, and ratios from a single pair of runs.')
  return lines
}

function dataCostLines (rows, comparisons) {
  const eager = rows.find((row) => row.scenario === 'data-eager')
  const loader = rows.find((row) => row.scenario === 'data-loader')
  if (eager === undefined || loader === undefined) return []
  const lines = ['### What a hit saves when the data costs something (issue 15)', '']
  if (loader.unavailable !== undefined) {
    lines.push(`- data-loader: **not available**: ${loader.unavailable}`)
    if (eager.unavailable === undefined) {
      lines.push(`- data-eager (a hit, after a 1 ms wait for the data on every request): ${formatInt(eager.requestsPerSecond)} req/s, p50 ${formatMs(eager.p50Ms)}, ${us(eager.cpuUsPerRequest)} µs CPU/request.`)
    }
    return [...lines, '']
  }
  const pair = comparisons.find((entry) => entry.own === 'data-loader' && entry.other === 'data-eager')
  lines.push(
    `Both serve the listing from the hot cache, with ${dataConnections} connections (with 100 the server's queue would hide a ` +
      '1 ms wait). With eager data every request first waits 1 ms for its data; with a loader a hit does not call it.',
    '',
    markdownTable(['route', 'req/s', 'p50', 'p99', 'CPU µs/request', 'data loads per request'], [eager, loader].map((row) => [
      row.scenario, formatInt(row.requestsPerSecond), formatMs(row.p50Ms), formatMs(row.p99Ms), us(row.cpuUsPerRequest), String(row.dataCallsPerRequest)
    ])),
    '',
    `A loader gives ${formatRatio(pair.rps)} the req/s of eager data at ${formatRatio(pair.cpu)} its CPU per request, and ` +
      `${formatMs(loader.p50Ms)} instead of ${formatMs(eager.p50Ms)} at the median.`,
    ''
  )
  return lines
}

function pageLine (name, references) {
  const ref = references[name]
  return `\`GET ${pages[name].path}\`: ${pages[name].about}, ${formatInt(ref.identity.length)} bytes of HTML` +
    (ref.br === null ? '' : ` (${formatInt(ref.br.length)} as the plugin's brotli body)`)
}

export function sectionMarkdown (data) {
  const { machine, generator, plan, settings, rows, comparisons, targets, pinning, profiles, busyBefore, busyAfter, date, references, pagesChosen } = data
  return [
    '## HTTP throughput',
    '',
    `Written by \`npm run bench:http\` on ${date}.`,
    '',
    `- Machine: ${machineLine(machine)}.`,
    `- Load: ${generator.name} ${generator.version}, ${settings.connections} connections, ${plan.loadThreads} thread(s); ${generator.why}.`,
    plan.pinned
      ? `- CPUs: scenarios marked "pinned" run the server process (main thread and worker threads) on CPU ${plan.server.join(',')} ` +
        `with taskset, the load generator on CPU ${plan.load.join(',')}. Scenarios marked "all" (render-2, naive-2, render-2-pinned, render-2-stgc, naive-2-stgc) ` +
        `let the server use every CPU, so it **shares CPU ${plan.load.join(',')} with the load generator**, which stays there: their ` +
        'req/s are what the server gets while wrk takes its share, and are compared with each other only.'
      : `- CPUs: not pinned (${plan.why}): server and load generator share the CPUs.`,
    `- Each run: a fresh server process, ${settings.warmup} s warm-up, ${settings.duration} s measured; ${settings.reps} round(s), ` +
      'each running every scenario once, grouped by page, the order of pages and of scenarios rotated each round; medians.',
    ...pagesChosen.map((name) => `- Page ${name}: ${pageLine(name, references)}.`),
    ...busyAndTargetLines(busyBefore, busyAfter, targets),
    "Issue 13's hit targets (cached against baseline, cached-br against baseline-br, the brotli body as a prebuilt Buffer)",
    'are judged in the section "Hits, paired windows" (`npm run bench:hits`): the servers compared there run side by side',
    'and share 1 s windows alternated 15 times, where the runs here are 5 s apart by minutes and this machine drifts more',
    'between runs than a hit differs from the bare route. The hit runs here stay in the tables and comparisons below.',
    'The cache-off targets on one CPU (render and render-inline against naive, ≥ 0.85×) are judged in the same way in',
    'the section "Misses, paired windows" (`npm run bench:misses`); those runs here stay below too.',
    '',
    ...(pinning === null ? [] : ['### Thread pinning', '', pinning.text, '']),
    '### Comparisons',
    '',
    'Each ratio is the median of per-round ratios (each run against the other run of its own round). CPU/request ratio:',
    "own CPU per request ÷ the other's, a cost (below 1 is cheaper).",
    '',
    markdownTable(comparisonHeader, comparisonRows(comparisons), 2),
    '',
    ...pagesChosen.flatMap((name) => [`### Page: ${name}`, '', markdownTable(caseHeader, caseRows(rows, name), 2), '']),
    'req/s, p50 and p99 are medians over the rounds; bytes/response includes headers. Spread: half the range of req/s',
    'over the rounds, as a share of the median. CPU µs/request: utime + stime of every thread of the server process',
    'during the measured seconds, per response; "main thread" and "workers" are its parts on the main thread and on the',
    'render worker threads (from /proc/self/task), the rest is V8\'s and libuv\'s helper threads. CPU per request hardly',
    'changes when other processes share the machine; with the server pinned to one CPU, 1,000,000 ÷ it is about the',
    'req/s it can reach, and a large gap between the two means something else took that CPU.',
    '',
    ...dataCostLines(rows, comparisons),
    '### Checks',
    '',
    ...checkLines({ rows, settings }).map((line) => `- ${line}`),
    '',
    ...(profiles.length === 0 ? [] : ['### What limits it', '', 'Profiles of the server for the scenarios furthest from their targets (or named in BENCH_PROFILE):', '', ...profiles.map(profileMarkdown)])
  ].join('\n')
}

export function consoleReport ({ rows, comparisons, targets, pinning, pagesChosen }) {
  const parts = []
  for (const name of pagesChosen) parts.push(`page ${name}\n${textTable(caseHeader, caseRows(rows, name))}`)
  parts.push(textTable(comparisonHeader, comparisonRows(comparisons)))
  parts.push(targets.map((target) => target.text.replace(/\*\*/g, '')).join('\n'))
  if (pinning !== null) parts.push(pinning.text.replace(/\*\*/g, ''))
  return parts.join('\n\n')
}
