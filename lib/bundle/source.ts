import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { SourceMap } from 'node:module'
import { FST_SSR_BUNDLE_LOAD } from '../errors'
import { compileBundle } from '../render/sandbox'
import { developmentBuildWarning } from './development'
import { loadErrorHint, noRenderFunctionHint } from './hints'
import { describeLocation, locateInStack, mapLocation, parseSourceMap, type CodeLocation } from './location'
import { convertModule, ModuleLoadError } from './module'

/** A server bundle read and checked in the main thread, before any worker runs it. */
export interface BundleSource {
  path: string
  /** What the workers evaluate: the file itself, or, for an ES module bundle, the script it was rewritten to. */
  source: string
  /** `script` covers classic scripts (IIFE) and CommonJS; `module` is an ES module bundle, rewritten at load. */
  format: 'script' | 'module'
  /** V8 code cache from the syntax check, handed to the workers. */
  cachedData: Buffer
  /** Content hash of what the workers run; part of every cache key. */
  version: string
  /** Worth a warning, not a refusal: a development build, an empty import.meta, … */
  warnings: string[]
  /** For a module bundle: from `source` back to the bundle's files. */
  sourceMap: SourceMap | null
}

/** The syntax errors that say "this is an ES module", whatever else is in the file. */
const moduleSyntax = /Cannot use import statement outside a module|Unexpected token 'export'|Cannot use 'import\.meta' outside a module|await is only valid in async functions and the top level bodies of modules/

function hash (text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

/**
 * Reads the bundle, checks its syntax and hashes it. A file that is not a valid script but is an ES module is
 * rewritten to one (see module.ts). Throws FST_SSR_BUNDLE_LOAD naming the path, the cause and where it is.
 */
export async function readBundle (path: string): Promise<BundleSource> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new FST_SSR_BUNDLE_LOAD(path, (error as Error).message, { cause: error })
  }
  let cachedData: Buffer
  try {
    cachedData = compileBundle(text, path)
  } catch (error) {
    if (!(error instanceof SyntaxError) || !moduleSyntax.test(error.message)) {
      throw new FST_SSR_BUNDLE_LOAD(path, describeLoadError(error, null, path), { cause: error })
    }
    return await readModule(path)
  }
  const warning = developmentBuildWarning([text])
  return { path, source: text, format: 'script', cachedData, version: hash(text), warnings: warning === null ? [] : [warning], sourceMap: null }
}

async function readModule (path: string): Promise<BundleSource> {
  try {
    const converted = await convertModule(path)
    const texts = await Promise.all(converted.files.map(async (file) => await readFile(file, 'utf8')))
    const warning = developmentBuildWarning(texts)
    return {
      path,
      source: converted.code,
      format: 'module',
      cachedData: compileBundle(converted.code, path),
      version: hash(converted.code),
      warnings: warning === null ? converted.warnings : [...converted.warnings, warning],
      sourceMap: parseSourceMap(converted.map)
    }
  } catch (error) {
    const message = error instanceof ModuleLoadError ? error.message : describeLoadError(error, null, path)
    throw new FST_SSR_BUNDLE_LOAD(path, message, { cause: error })
  }
}

/**
 * A load error as FST_SSR_BUNDLE_LOAD says it: the message, where in the bundle it happened (mapped back from the
 * rewritten script for a module bundle), and how to fix the build when the cause is a familiar one.
 */
export function describeLoadError (error: { message?: unknown, stack?: unknown } | unknown, bundle: BundleSource | null, path: string): string {
  const { message, stack } = (error !== null && typeof error === 'object') ? error as { message?: unknown, stack?: unknown } : { message: String(error), stack: undefined }
  const text = typeof message === 'string' ? message : String(error)
  let location: CodeLocation | null = locateInStack(typeof stack === 'string' ? stack : undefined, path)
  if (location !== null && bundle?.sourceMap != null) location = mapLocation(bundle.sourceMap, dirname(path), location)
  const where = location === null ? '' : describeLocation(location)
  const hint = text.startsWith('no render function found') ? noRenderFunctionHint : loadErrorHint(text)
  return `${text}${where}${hint === '' ? '' : `. ${hint}`}`
}
