// Medians and formatting shared by the benchmark scripts.

export function median (values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Nearest-rank percentile (0–100) of unsorted samples. */
export function percentile (values, p) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

/** (max − min) / median: how far the repetitions of one figure disagree. */
export function spread (values) {
  const mid = median(values)
  return values.length < 2 || !(mid > 0) ? 0 : (Math.max(...values) - Math.min(...values)) / mid
}

export function round (value, digits = 2) {
  if (!Number.isFinite(value)) return null
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

export function formatInt (value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

export function formatMs (value) {
  if (!Number.isFinite(value)) return 'n/a'
  return value < 1 ? `${value.toFixed(3)} ms` : value < 100 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`
}

export function formatRatio (value) {
  if (!Number.isFinite(value)) return 'n/a'
  // Two decimals, or two significant digits below 0.1, so a small ratio never shows as 0.00×.
  return `${value >= 0.1 || value === 0 ? value.toFixed(2) : value.toPrecision(2)}×`
}

export function formatPercent (value, digits = 0) {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : 'n/a'
}

export function formatMiB (bytes) {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a'
}

/**
 * A target as a sentence: met or missed, and by how much. `atMost`: the figure is a cost that must stay at or below
 * the target (CPU per request as a multiple of the baseline's); otherwise it must reach it. `unit` follows numbers
 * ('×' for ratios, ' µs' for times). `unavailable` says why the figure could not be measured at all.
 */
export function judgeTarget ({ label, actual, target, atMost = false, unit = '×', unavailable }) {
  if (unavailable !== undefined) return { label, target, atMost, actual: null, met: false, unavailable, text: `${label}: **not available**: ${unavailable}` }
  if (!Number.isFinite(actual)) return { label, target, atMost, actual: null, met: false, text: `${label}: not measured` }
  const show = (value) => unit === '×' ? `${value.toFixed(2)}×` : `${formatInt(value)}${unit}`
  const met = atMost ? actual <= target : actual >= target
  const bound = `${atMost ? '≤' : '≥'} ${show(target)}`
  let text
  if (met) {
    text = `${label}: **met**: ${show(actual)} against ${bound} (${formatPercent(Math.abs(actual / target - 1), 1)} ${atMost ? 'below' : 'above'})`
  } else if (atMost) {
    text = `${label}: **missed**: ${show(actual)} against ${bound}, over by ${unit === '×' ? (actual - target).toFixed(2) : show(actual - target)} ` +
      `(it would need ${formatPercent(1 - target / actual, 1)} less)`
  } else {
    text = `${label}: **missed**: ${show(actual)} against ${bound}, short by ${unit === '×' ? (target - actual).toFixed(2) : show(target - actual)} ` +
      `(it would need ${formatPercent(target / actual - 1, 1)} more)`
  }
  return { label, target, atMost, actual: round(actual, 3), met, text }
}

/** A Markdown table from a header row and data rows; the first `leftColumns` are left-aligned, the rest right-aligned. */
export function markdownTable (header, rows, leftColumns = 1) {
  const align = header.map((_, index) => (index < leftColumns ? '---' : '---:'))
  return [header, align, ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n')
}

/** The same table for a terminal: padded columns. */
export function textTable (header, rows) {
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => String(row[column]).length)))
  const line = (row) => row.map((cell, column) => (column === 0 ? String(cell).padEnd(widths[column]) : String(cell).padStart(widths[column]))).join('  ')
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}
