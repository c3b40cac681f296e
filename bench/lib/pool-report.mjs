// The pool benchmark's results (bench/pool.mjs): medians per variant, ratios of runs of the same round, the targets
// of issue 13, and the pool section of bench/RESULTS.md.

import { machineLine } from './machine.mjs'
import { formatInt, formatMs, formatPercent, formatRatio, judgeTarget, markdownTable, median, round, spread, textTable } from './stats.mjs'
import { busyAndTargetLines } from './report.mjs'

const medianOf = (runs, pick, digits = 1) => round(median(runs.map(pick).filter((value) => value !== null && value !== undefined)), digits)

/** The runs of one round, by job id. */
function byRound (runs) {
  const rounds = new Map()
  for (const run of runs) {
    if (!rounds.has(run.round)) rounds.set(run.round, new Map())
    rounds.get(run.round).set(run.id, run)
  }
  return [...rounds.values()]
}

export function summarize (jobs, runs) {
  const rounds = byRound(runs)
  return jobs.map((job) => {
    const own = runs.filter((run) => run.id === job.id)
    const rps = own.map((run) => run.rendersPerSecond)
    const reference = `in-thread ×${job.concurrency} · ${job.page}`
    const speedup = median(rounds.map((round) => round.get(job.id)?.rendersPerSecond / round.get(reference)?.rendersPerSecond))
    return {
      ...job,
      threads: own[0].threads,
      rendersPerSecond: round(median(rps), 0),
      speedup: round(speedup, 3),
      cpuUsPerRender: medianOf(own, (run) => run.cpuUsPerRender),
      mainThreadCpuUsPerRender: medianOf(own, (run) => run.mainThreadCpuUsPerRender),
      workerCpuUsPerRender: medianOf(own, (run) => run.workerCpuUsPerRender),
      otherCpuUsPerRender: medianOf(own, (run) => run.otherCpuUsPerRender),
      cpuCores: medianOf(own, (run) => run.cpuCores, 2),
      mainThreadUtilization: medianOf(own, (run) => run.mainThreadUtilization, 3),
      latencyP50Ms: medianOf(own, (run) => run.latency.p50Ms, 4),
      latencyP99Ms: medianOf(own, (run) => run.latency.p99Ms, 4),
      workersTold: own.every((run) => run.threads === 0 || run.workerThreadsFound === run.threads),
      spread: round(spread(rps), 3),
      perRound: rps.map((value) => round(value, 0))
    }
  })
}

/** What the pool may cost per render beyond the in-thread render: max(15%, 40 µs). */
function allowance (inThreadUs) {
  return inThreadUs + Math.max(0.15 * inThreadUs, 40)
}

/**
 * pool-1 CPU per render ≤ in-thread + max(15%, 40 µs), per page and concurrency, judged on the median of per-round
 * ratios (pool-1's CPU ÷ its allowance, ≤ 1); and pool-2 ≥ 1.8 × pool-1 renders/s on the listing.
 */
export function judge (rows, runs, { pagesChosen, concurrencies }) {
  const rounds = byRound(runs)
  const row = (id) => rows.find((entry) => entry.id === id)
  const targets = []
  for (const page of pagesChosen) {
    for (const inFlight of concurrencies) {
      const [pool, inThread] = [`pool-1 ×${inFlight} · ${page}`, `in-thread ×${inFlight} · ${page}`]
      if (row(pool) === undefined || row(inThread) === undefined) continue
      const ratio = median(rounds.map((round) => round.get(pool)?.cpuUsPerRender / allowance(round.get(inThread)?.cpuUsPerRender)))
      const judged = judgeTarget({ label: `pool-1 CPU/render ≤ in-thread + max(15%, 40 µs), ${page}, ${inFlight} in flight`, actual: ratio, target: 1, atMost: true })
      const detail = ` (pool-1 ${formatInt(row(pool).cpuUsPerRender)} µs/render against in-thread ${formatInt(row(inThread).cpuUsPerRender)} µs, ` +
        `allowed ${formatInt(allowance(row(inThread).cpuUsPerRender))} µs; medians; the ratio is pool-1's CPU ÷ what it is allowed)`
      targets.push({ kind: 'cpu', id: pool, page, ...judged, text: judged.text + detail })
    }
  }
  const inFlight = Math.max(...concurrencies)
  const [two, one] = [`pool-2 ×${inFlight} · listing`, `pool-1 ×${inFlight} · listing`]
  if (row(two) !== undefined && row(one) !== undefined) {
    const ratio = median(rounds.map((round) => round.get(two)?.rendersPerSecond / round.get(one)?.rendersPerSecond))
    const judged = judgeTarget({ label: `pool-2 ≥ 1.8 × pool-1 renders/s, listing, ${inFlight} in flight`, actual: ratio, target: 1.8 })
    targets.push({ kind: 'scaling', id: two, page: 'listing', ...judged })
  }
  return targets
}

const header = ['variant', 'in flight', 'threads', 'renders/s', '× in-thread', 'CPU µs/render', 'main thread', 'workers', 'other threads', 'main thread busy', 'p50', 'p99', 'spread']

function us (value) {
  return Number.isFinite(value) ? formatInt(value) : 'n/a'
}

function tableRows (rows, page) {
  return rows.filter((row) => row.page === page).map((row) => [
    row.variant,
    String(row.concurrency),
    row.threads === 0 ? 'main' : String(row.threads),
    formatInt(row.rendersPerSecond),
    formatRatio(row.speedup),
    us(row.cpuUsPerRender),
    us(row.mainThreadCpuUsPerRender),
    row.threads === 0 ? '' : us(row.workerCpuUsPerRender),
    us(row.otherCpuUsPerRender),
    formatPercent(row.mainThreadUtilization),
    formatMs(row.latencyP50Ms),
    formatMs(row.latencyP99Ms),
    `±${formatPercent(row.spread / 2)}`
  ])
}

/** Whatever the scheduling, n CPUs give at most n seconds of CPU per second: a bound on pool-2 from its CPU cost. */
function ceilingLines (rows, cpus, inFlight) {
  const lines = []
  for (const page of [...new Set(rows.map((row) => row.page))]) {
    const two = rows.find((row) => row.id === `pool-2 ×${inFlight} · ${page}`)
    const one = rows.find((row) => row.id === `pool-1 ×${inFlight} · ${page}`)
    const staticRow = rows.find((row) => row.id === `pool-1-static ×${inFlight} · ${page}`)
    if (two !== undefined && one !== undefined) {
      lines.push(`${page}: pool-2 costs ${us(two.cpuUsPerRender)} µs of CPU per render (${us(two.mainThreadCpuUsPerRender)} µs on the main thread): ` +
        `on ${cpus} CPUs it cannot exceed ${formatInt(cpus * 1e6 / two.cpuUsPerRender)} renders/s, ${formatRatio(cpus * 1e6 / two.cpuUsPerRender / one.rendersPerSecond)} pool-1's rate, however well it is scheduled.`)
    }
    if (staticRow !== undefined) {
      lines.push(`${page}: the pool's own cost, from pool-1-static (the same page returned as a constant, nothing rendered): ` +
        `${us(staticRow.cpuUsPerRender)} µs of CPU per render, ${us(staticRow.mainThreadCpuUsPerRender)} µs of it on the main thread and ` +
        `${us(staticRow.workerCpuUsPerRender)} µs on the worker; at most ${formatInt(staticRow.rendersPerSecond)} renders/s through one worker.`)
    }
  }
  return lines
}

/**
 * What polling at a hand-over does (handoffSpinUs), per page: pool-1 (polling, its default with a CPU to spare)
 * against pool-1-nospin at each number in flight, and pool-2-spin against pool-2 (not polling, its default).
 */
function handoffLines (rows, runs, inFlights) {
  const rounds = byRound(runs)
  const lines = []
  const pairs = [...inFlights.map((inFlight) => ['pool-1', 'pool-1-nospin', inFlight]), ['pool-2-spin', 'pool-2', inFlights[inFlights.length - 1]]]
  for (const page of [...new Set(rows.map((row) => row.page))]) {
    for (const [polledVariant, sleptVariant, inFlight] of pairs) {
      const polled = `${polledVariant} ×${inFlight} · ${page}`
      const slept = `${sleptVariant} ×${inFlight} · ${page}`
      const a = rows.find((row) => row.id === polled)
      const b = rows.find((row) => row.id === slept)
      if (a === undefined || b === undefined) continue
      const cpu = median(rounds.map((round) => round.get(polled)?.cpuUsPerRender / round.get(slept)?.cpuUsPerRender).filter(Number.isFinite))
      const rate = median(rounds.map((round) => round.get(polled)?.rendersPerSecond / round.get(slept)?.rendersPerSecond).filter(Number.isFinite))
      lines.push(`${page}, ${inFlight} in flight, ${polledVariant} against ${sleptVariant}: polling at hand-overs ${us(a.cpuUsPerRender)} µs of CPU per render and ` +
        `${formatInt(a.rendersPerSecond)} renders/s, without it ${us(b.cpuUsPerRender)} µs and ${formatInt(b.rendersPerSecond)}/s: ` +
        `${formatRatio(cpu)} the CPU, ${formatRatio(rate)} the rate (medians of per-round ratios).`)
    }
  }
  return lines
}

function profileMarkdown (profile) {
  const lines = [`**${profile.id}** under \`node --cpu-prof\` (one extra run, ${formatInt(profile.rendersPerSecondWhileProfiled)} renders/s while ` +
    `profiled, warm-up included; files in \`${profile.dir}/\`, one per thread):`, '']
  for (const thread of profile.threads) {
    const packages = thread.packages.slice(0, 6).map((entry) => `${entry.name} ${formatPercent(entry.share)}`).join(', ')
    const functions = thread.functions.slice(0, 6).map((entry) => `\`${entry.name}\` ${formatPercent(entry.share, 1)}`).join(', ')
    lines.push(`- ${thread.thread}: idle ${formatPercent(thread.idle)}, GC ${formatPercent(thread.garbageCollector)}; by package: ${packages}; top functions: ${functions}.`)
  }
  return lines.join('\n') + '\n'
}

export function sectionMarkdown (data) {
  const { date, machine, settings, rows, runs, targets, profiles, busyBefore, busyAfter, cpus, pagesChosen, pageSizes } = data
  const untold = rows.filter((row) => !row.workersTold).map((row) => row.id)
  return [
    '## Worker pool, without HTTP',
    '',
    `Written by \`npm run bench:pool\` on ${date}.`,
    '',
    `- Machine: ${machineLine(machine)}.`,
    `- Pages: ${pagesChosen.map((name) => `${name} (${formatInt(pageSizes[name])} bytes)`).join(', ')}, rendered uncached with \`fastify.ssr.render(url, data, { cache: false })\`; ` +
      'in-thread is the same bundle through the plugin\'s own sandbox in the main thread, the floor of a miss.',
    `- Each variant in a fresh process, not pinned (the pool may use all ${cpus} CPUs, the main thread included), with 1 or ` +
      `${settings.concurrency} renders kept in flight; ${settings.warmup} s warm-up, ${settings.duration} s measured; ${settings.reps} round(s), ` +
      'grouped by page, the order rotated each round; medians.',
    ...busyAndTargetLines(busyBefore, busyAfter, targets),
    ...pagesChosen.flatMap((name) => [`### Page: ${name}`, '', markdownTable(header, tableRows(rows, name)), '']),
    '× in-thread: median of per-round ratios against in-thread at the same number in flight. CPU µs/render: CPU time',
    'of every thread of the process per render; main thread, workers (the render worker threads) and other threads',
    "(V8's and libuv's helpers) are its parts, from /proc/self/task. Unlike the wall-clock figures these hardly change",
    'when other processes share the machine. Main thread busy: its event-loop utilization. p50 and p99: the time of',
    'one render as its caller saw it (with renders in flight, waiting for a worker included).',
    '',
    ...ceilingLines(rows, cpus, settings.concurrency).map((line) => `- ${line}`),
    ...handoffLines(rows, runs, [1, settings.concurrency]).map((line) => `- ${line}`),
    ...(untold.length === 0 ? [] : [`- Worker CPU could not be told apart from other threads in: ${untold.join(', ')}.`]),
    '',
    ...(profiles.length === 0 ? [] : ['### What limits it', '', ...profiles.map(profileMarkdown)])
  ].join('\n')
}

export function consoleReport (rows, targets, pagesChosen) {
  return [
    ...pagesChosen.map((name) => `page ${name}\n${textTable(header, tableRows(rows, name))}`),
    targets.map((target) => target.text.replace(/\*\*/g, '')).join('\n')
  ].join('\n\n')
}
