// Writes what the benchmarks measured: bench/results.json (every figure, machine-readable) and bench/RESULTS.md
// (the same for people). Each command owns one section of RESULTS.md and replaces only that one, so `npm run bench:http`
// and `npm run bench:pool` can run at different times; each section names its own date, machine and settings. The
// file's opening warning is rebuilt from every section's flags, so a section measured with short durations or on a
// busy machine is announced at the top until a full run replaces it. No figure in RESULTS.md is typed by hand.

import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatPercent } from './stats.mjs'

const resultsJson = fileURLToPath(new URL('../results.json', import.meta.url))
const resultsMd = fileURLToPath(new URL('../RESULTS.md', import.meta.url))

/** The sections in file order, and the command that writes each. */
export const sections = {
  http: { title: 'HTTP throughput', command: '`npm run bench` (or `npm run bench:http`)' },
  hits: { title: 'Hits, paired windows', command: '`npm run bench` (or `npm run bench:hits`)' },
  misses: { title: 'Misses, paired windows', command: '`npm run bench` (or `npm run bench:misses`)' },
  pool: { title: 'Worker pool, without HTTP', command: '`npm run bench` (or `npm run bench:pool`)' },
  memory: { title: 'Memory', command: '`npm run bench` (or `npm run bench:memory`)' }
}

/** Merges one section's figures into bench/results.json, keeping the others. */
export async function writeResultsJson (section, data) {
  let all = {}
  if (existsSync(resultsJson)) {
    try {
      all = JSON.parse(await readFile(resultsJson, 'utf8'))
    } catch {}
  }
  all[section] = data
  await writeFile(resultsJson, JSON.stringify(all, null, 2) + '\n')
  return resultsJson
}

// The last section ends the file, with or without a newline after it: it must be read back too.
const sectionPattern = /<!-- section (\w+) (\{.*?\}) -->\n([\s\S]*?)<!-- \/section \1 -->(?:\n|$)/g

function parseSections (text) {
  const found = {}
  for (const match of text.matchAll(sectionPattern)) found[match[1]] = { meta: JSON.parse(match[2]), body: match[3] }
  return found
}

/**
 * Replaces one section of RESULTS.md. `meta.flags` lists why the section is not a result (short settings, a busy
 * machine, a note given with BENCH_NOTE); empty for a full run on a quiet machine.
 */
export async function writeResultsSection (section, meta, body) {
  const existing = existsSync(resultsMd) ? parseSections(await readFile(resultsMd, 'utf8')) : {}
  existing[section] = { meta, body: body.endsWith('\n') ? body : body + '\n' }
  const flagged = Object.entries(existing).filter(([, { meta }]) => meta.flags.length > 0)
  const lines = [
    '# Benchmark results',
    '',
    '<!-- Written by the benchmark scripts (bench/lib/report.mjs) from the figures they measured. Do not edit by hand:',
    '     run `npm run bench` on a quiet machine to replace it. -->',
    ''
  ]
  if (flagged.length > 0) {
    lines.push('> **⚠ Not a result: these figures are superseded by the next full run.** Some sections were measured in a way', '> that makes their numbers unreliable:', '>')
    for (const [name, { meta }] of flagged) lines.push(`> - ${sections[name].title} (${meta.date}): ${meta.flags.map((flag) => flag.replace(/\.$/, '')).join('; ')}.`)
    lines.push('')
  }
  lines.push(
    'Every figure is measured against a baseline in the same run, and only the ratios travel between machines: an',
    'absolute req/s figure describes this machine on this day. Each section names the command that wrote it, its date,',
    'machine and settings. The methodology is in the header of each file under `bench/`.',
    ''
  )
  for (const name of Object.keys(sections)) {
    const entry = existing[name]
    lines.push(`<!-- section ${name} ${JSON.stringify(entry?.meta ?? { flags: [] })} -->`)
    lines.push(entry?.body ?? `## ${sections[name].title}\n\n_Not measured yet: run ${sections[name].command}._\n`)
    lines.push(`<!-- /section ${name} -->`)
  }
  await writeFile(resultsMd, lines.join('\n').replace(/\n{3,}/g, '\n\n') + '\n')
  return resultsMd
}

/** The settings a command was run with, read from the environment, and which of them differ from its defaults. */
export function readSettings (defaults) {
  const settings = {}
  const changed = []
  for (const [name, { env, value }] of Object.entries(defaults)) {
    const raw = process.env[env]
    if (raw === undefined || raw === '') {
      settings[name] = value
      continue
    }
    const number = Number(raw)
    if (!Number.isFinite(number) || number < 0) throw new Error(`${env} must be a non-negative number, not "${raw}"`)
    settings[name] = number
    if (number !== value) changed.push(`${env}=${raw} (default ${value})`)
  }
  return { settings, changed }
}

/** Why a section's figures may not be trusted, from its settings, the machine's load and BENCH_NOTE. */
export function flagsFor ({ changed, busyBefore, busyAfter, busyThreshold, extra = [] }) {
  const flags = []
  if (process.env.BENCH_NOTE) flags.push(process.env.BENCH_NOTE)
  if (changed.length > 0) flags.push(`run with non-default settings: ${changed.join(', ')}`)
  const busy = [busyBefore, busyAfter].filter((value) => value !== null && value > busyThreshold)
  if (busy.length > 0) {
    flags.push(`the machine was busy: other processes used ${pct(busyBefore)} of its CPU in the second before the run ` +
      `and ${pct(busyAfter)} in the second after it`)
  }
  return [...flags, ...extra]
}

function pct (value) {
  return value === null ? 'n/a' : `${Math.round(value * 100)}%`
}

/** Ends a run's console output: the reasons its figures are not a result, if any, and where they were written. */
export function reportWritten (flags, paths) {
  for (const flag of flags) console.log(`NOT A RESULT: ${flag}`)
  const root = fileURLToPath(new URL('../../', import.meta.url))
  console.log(`\nwrote ${paths.map((path) => relative(root, path)).join(' and ')}`)
}

/** Runs a benchmark's main function; a failure is printed and sets a non-zero exit code. */
export function runMain (main) {
  main().catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}

/**
 * The lines every section shares after its settings: how busy the machine was around the run, then its targets,
 * each met or missed, with the count met first.
 */
export function busyAndTargetLines (busyBefore, busyAfter, targets) {
  const met = targets.filter((target) => target.met).length
  return [
    `- Other processes used ${formatPercent(busyBefore)} of the CPUs in the second before the run and ${formatPercent(busyAfter)} in the second after.`,
    '',
    '### Targets',
    '',
    `**${met} of ${targets.length} targets met.**`,
    '',
    ...targets.map((target) => `- ${target.text}`),
    ''
  ]
}
