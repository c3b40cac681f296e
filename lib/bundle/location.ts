import { readFileSync } from 'node:fs'
import { SourceMap, type SourceMapping, type SourceMapPayload } from 'node:module'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A place in a file; line and column count from 1, as editors and stack traces show them. */
export interface CodeLocation {
  file: string
  line: number
  column: number
}

/** A path as the person who started the server reads it: relative to the working directory when inside it. */
export function displayPath (file: string): string {
  const fromCwd = relative(process.cwd(), file)
  return fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : file
}

export function lineAndColumn (text: string, index: number): { line: number, column: number } {
  const before = text.slice(0, index)
  const lineStart = before.lastIndexOf('\n') + 1
  return { line: before.split('\n').length, column: index - lineStart + 1 }
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Where in `filename` an error happened, read from its stack: the first frame in that file, or, for a syntax
 * error, the `file:line` header V8 puts above the offending line and its `^` marker.
 */
export function locateInStack (stack: string | undefined, filename: string): CodeLocation | null {
  if (stack === undefined) return null
  const name = escapeRegExp(filename)
  const frame = new RegExp(`${name}:(\\d+):(\\d+)`).exec(stack)
  if (frame !== null) return { file: filename, line: Number(frame[1]), column: Number(frame[2]) }
  // At the end of the input there is no line to mark: the column is then the first.
  const header = new RegExp(`^${name}:(\\d+)\\n.*\\n( *)\\^?`).exec(stack)
  if (header !== null) return { file: filename, line: Number(header[1]), column: header[2].length + 1 }
  return null
}

/** Reads a map from JSON text; null when it is not one. */
export function parseSourceMap (json: string): SourceMap | null {
  try {
    return new SourceMap(JSON.parse(json) as SourceMapPayload)
  } catch {
    return null
  }
}

/** Maps a location through `map`, whose sources are relative to `mapDirectory`; null when no mapping covers it. */
export function mapLocation (map: SourceMap, mapDirectory: string, location: CodeLocation): CodeLocation | null {
  // An empty object when no mapping covers the place.
  const entry = map.findEntry(location.line - 1, location.column - 1) as Partial<SourceMapping>
  if (typeof entry.originalSource !== 'string' || typeof entry.originalLine !== 'number' || typeof entry.originalColumn !== 'number') return null
  const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(mapDirectory, entry.originalSource)
  return { file: source, line: entry.originalLine + 1, column: entry.originalColumn + 1 }
}

const mapComment = /\/\/[#@] sourceMappingURL=(\S+)\s*$/

/** The map a file names in its `sourceMappingURL` comment (a file beside it, or a data: URL); null without one. */
function ownSourceMap (file: string, text: string): SourceMap | null {
  const url = mapComment.exec(text.slice(-4096))?.[1]
  if (url === undefined) return null
  try {
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',')
      const payload = url.slice(comma + 1)
      return parseSourceMap(url.slice(0, comma).endsWith(';base64') ? Buffer.from(payload, 'base64').toString('utf8') : decodeURIComponent(payload))
    }
    return parseSourceMap(readFileSync(resolve(dirname(file), url), 'utf8'))
  } catch {
    return null
  }
}

// The comments bundlers put above each module in unminified output: esbuild's `// node_modules/x/index.js` and
// Rolldown's `//#region node_modules/x/index.js`.
const moduleComment = /^\/\/(?:#region)? ((?:[\w@.+-]+\/)*[\w@.+-]+\.(?:[cm]?[jt]sx?|vue|svelte))$/

function moduleFromComments (text: string, line: number): string | null {
  const lines = text.split('\n', line)
  for (let index = Math.min(line, lines.length) - 1; index >= 0; index--) {
    const match = moduleComment.exec(lines[index].trim())
    if (match !== null) return match[1]
  }
  return null
}

/**
 * ` at <file:line:column>`, plus the original module when the bundle says which one it was (its own source map,
 * or the module comments of an unminified build). Read only when a bundle failed to load.
 */
export function describeLocation (location: CodeLocation): string {
  let text: string | null = null
  try {
    text = readFileSync(location.file, 'utf8')
  } catch {}
  const at = ` at ${displayPath(location.file)}:${location.line}:${location.column}`
  if (text === null) return at
  const map = ownSourceMap(location.file, text)
  if (map !== null) {
    const original = mapLocation(map, dirname(location.file), location)
    if (original !== null) return `${at} (${displayPath(original.file)}:${original.line}:${original.column})`
  }
  const module = moduleFromComments(text, location.line)
  return module === null ? at : `${at} (in ${module})`
}
