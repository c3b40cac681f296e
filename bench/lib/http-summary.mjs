// Turns the HTTP benchmark's runs into its results: medians per scenario and page, the comparisons of
// bench/lib/http-plan.mjs as medians of per-round ratios (each run against the other run of its own round, so drift
// between rounds cancels out), the targets met or missed, and the verdict on pinThreads.

import { judgeTarget, median, round, spread } from './stats.mjs'

const medianOf = (runs, pick, digits = 2) => round(median(runs.map(pick).filter((value) => value !== null && value !== undefined)), digits)

/** One row per scenario and page: medians over the rounds, or why it could not run. */
export function summarizeCases (groups, runs) {
  const rows = []
  for (const group of groups) {
    for (const { id, scenario, page } of group) {
      const own = runs.filter((run) => run.id === id)
      const unavailable = own.find((run) => run.unavailable !== undefined)?.unavailable
      if (unavailable !== undefined || own.length === 0) {
        rows.push({ id, scenario: scenario.name, page, unavailable: unavailable ?? 'not run' })
        continue
      }
      const rps = own.map((run) => run.requestsPerSecond)
      rows.push({
        id,
        scenario: scenario.name,
        page,
        pinned: scenario.pinned !== false,
        requestsPerSecond: round(median(rps), 0),
        p50Ms: medianOf(own, (run) => run.latencyMs.p50, 3),
        p99Ms: medianOf(own, (run) => run.latencyMs.p99, 3),
        bytesPerResponse: medianOf(own, (run) => run.bytesPerResponse, 0),
        cpuUsPerRequest: medianOf(own, (run) => run.cpuUsPerRequest, 2),
        mainUsPerRequest: medianOf(own, (run) => run.mainUsPerRequest, 2),
        workersUsPerRequest: medianOf(own, (run) => run.workersUsPerRequest, 2),
        loadCpuBusy: medianOf(own, (run) => run.loadCpuBusy, 3),
        spread: round(spread(rps), 3),
        perRound: rps.map((value) => round(value, 0)),
        errors: own.reduce((sum, run) => sum + run.errorCount, 0),
        threads: own[0].threads,
        rendersPerRequest: own[0].renders === null ? null : medianOf(own, (run) => run.renders / run.requests, 4),
        dataCallsPerRequest: medianOf(own, (run) => run.dataCalls / run.requests, 4),
        affinity: own[0].affinity ?? null,
        check: own[0].check
      })
    }
  }
  return rows
}

/** Every comparison at every page where both of its scenarios ran. */
export function summarizeComparisons (comparisons, rows, runs) {
  const rounds = [...new Set(runs.map((run) => run.round))]
  const at = (index, id) => runs.find((run) => run.round === index && run.id === id && run.unavailable === undefined)
  const results = []
  for (const comparison of comparisons) {
    for (const ownRow of rows.filter((row) => row.scenario === comparison.own)) {
      const otherRow = rows.find((row) => row.scenario === comparison.other && row.page === ownRow.page)
      if (otherRow === undefined) continue
      const base = { own: comparison.own, other: comparison.other, page: ownRow.page, why: comparison.why }
      const unavailable = ownRow.unavailable ?? otherRow.unavailable
      if (unavailable !== undefined) {
        results.push({ ...base, unavailable })
        continue
      }
      const pairs = rounds.map((index) => [at(index, ownRow.id), at(index, otherRow.id)]).filter(([own, other]) => own !== undefined && other !== undefined)
      const rps = pairs.map(([own, other]) => own.requestsPerSecond / other.requestsPerSecond)
      const cpu = pairs.map(([own, other]) => own.cpuUsPerRequest / other.cpuUsPerRequest)
      results.push({
        ...base,
        rps: round(median(rps), 3),
        cpu: round(median(cpu), 3),
        rpsPerRound: rps.map((value) => round(value, 3)),
        cpuPerRound: cpu.map((value) => round(value, 3))
      })
    }
  }
  return results
}

export function judgeTargets (targets, comparisons) {
  return targets.map((target) => {
    const found = comparisons.find((entry) => entry.own === target.own && entry.other === target.other && entry.page === target.page)
    const judged = judgeTarget({
      label: target.label,
      actual: found?.[target.measure],
      target: target.target,
      atMost: target.measure === 'cpu',
      unavailable: found?.unavailable
    })
    // The other measure of the same pair, beside it: req/s and CPU per request agree on a quiet machine.
    const other = target.measure === 'cpu' ? found?.rps : found?.cpu
    const aside = Number.isFinite(other) ? `; ${target.measure === 'cpu' ? 'req/s' : 'CPU/request'} ${other.toFixed(2)}× ${target.other}` : ''
    return { ...target, ...judged, text: judged.text + aside }
  })
}

/** The req/s gain pinThreads would need, beyond the noise, to be worth making the default. */
const minDefaultGain = 0.05

/**
 * Whether pinThreads wins beyond the noise: every round's req/s ratio above 1, and the median gain larger than the
 * round-to-round spread of either scenario (half their range); and whether by enough to make it the default. With
 * one round the noise is unknown: no verdict.
 */
export function pinningVerdict (comparisons, rows) {
  const found = comparisons.find((entry) => entry.own === 'render-2-pinned' && entry.other === 'render-2')
  if (found === undefined) return null
  if (found.unavailable !== undefined) return { available: false, text: `pinThreads: **not available**: ${found.unavailable}` }
  const pinnedRow = rows.find((row) => row.scenario === 'render-2-pinned')
  const plainRow = rows.find((row) => row.scenario === 'render-2' && row.page === pinnedRow.page)
  const noise = Math.max(pinnedRow.spread, plainRow.spread) / 2
  const gain = found.rps - 1
  const perRound = found.rpsPerRound.map((value) => `${value.toFixed(2)}×`).join(', ')
  const wins = found.rpsPerRound.every((value) => value > 1) && gain > noise
  const loses = found.rpsPerRound.every((value) => value < 1) && -gain > noise
  const spread = `±${(noise * 100).toFixed(0)}% between rounds`
  let verdict
  if (found.rpsPerRound.length < 2) verdict = 'one round only, so the noise is unknown: no verdict'
  // A default that pins must pay for what pinning costs everyone: it needs util-linux's taskset (or logs why it
  // cannot pin at every start), and a pinned worker cannot leave a core something else on the host keeps busy.
  else if (wins && gain >= minDefaultGain) verdict = `it **wins beyond the noise** (${spread}) by ${(gain * 100).toFixed(0)}%, enough to consider it as the default`
  else if (wins) verdict = `it **wins beyond the noise** (${spread}) by ${(gain * 100).toFixed(0)}%, less than the ${minDefaultGain * 100}% a default would need: keep it opt-in`
  else if (loses) verdict = `it **loses beyond the noise** (${spread}): keep it opt-in`
  else verdict = `**within the noise** (${spread}): keep it opt-in`
  // What /proc says: with pinThreads each worker thread should be allowed exactly one CPU, none the same.
  const cpus = pinnedRow.affinity?.workers ?? []
  const pinned = cpus.length === pinnedRow.threads && cpus.every((list) => /^\d+$/.test(list ?? '')) && new Set(cpus).size === cpus.length
  const evidence = pinned
    ? ` Each worker thread had a CPU of its own (${cpus.join(', ')}).`
    : ` **The plugin accepted the option, but its worker threads were not each pinned to a CPU of their own** (CPUs allowed: ${cpus.join('; ') || 'workers not told apart'}).`
  return {
    available: true,
    pinned,
    rps: found.rps,
    cpu: found.cpu,
    noise: round(noise, 3),
    text: `pinThreads: render-2-pinned does ${found.rps.toFixed(2)}× render-2's req/s (per round ${perRound}) at ` +
      `${found.cpu.toFixed(2)}× its CPU per request: ${verdict}.${evidence}`
  }
}
