import { readFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { Message, Metafile, Plugin } from 'esbuild'
import { displayPath, lineAndColumn, type CodeLocation } from './location'

/**
 * ES module bundles, as Vite's SSR build emits them, run in the workers' vm contexts as CommonJS: esbuild rewrites
 * them once, in the main thread, at load. `vm.SourceTextModule` would run them as modules, but on Node 20 it needs
 * `--experimental-vm-modules` (an experimental API, with a warning) in every worker; a one-off rewrite by a maintained
 * bundler keeps the workers on the stable `vm.Script` path, with its V8 code cache.
 *
 * The rewrite also follows the bundle's relative imports (`import './chunk-x.js'`, `import('./page-y.js')`), so a
 * multi-chunk build becomes one script. A bare import (`react`, `node:stream`) is never resolved: the sandbox has no
 * `require`, so a bundle that still imports a package is refused, naming the import and how to bundle it.
 */

/** An ES module bundle rewritten to one CommonJS script, with the map from that script back to the files read. */
export interface ConvertedModule {
  code: string
  /** Source map (JSON) of `code`; its sources are the bundle's own files, as they are on disk. */
  map: string
  /** Every file read, entry first: the bundle and its chunks. */
  files: string[]
  /** Things worth a warning that do not stop the bundle (import.meta is empty, …). */
  warnings: string[]
}

/** The bundle cannot be rewritten, or still imports something it does not contain. `message` says where and why. */
export class ModuleLoadError extends Error {}

// esbuild filters are Go regular expressions: no lookahead, so absolute paths are told apart in the callback.
const bare = /^[^./]/
const sourceMapComment = /^[ \t]*\/\/[#@] sourceMappingURL=.*$/gm

/**
 * Keeps bare imports out (they are reported, not bundled), and hides the files' own `sourceMappingURL` comments
 * from esbuild: its map then points at the bundle's files as they are, and a load error can name both the bundle
 * position and, through the bundle's own map, the original module (see location.ts).
 */
const bundleFilesOnly: Plugin = {
  name: 'fastify-ssr-engine:bundle-files-only',
  setup (build) {
    build.onResolve({ filter: bare }, (args) => isAbsolute(args.path) ? undefined : { path: args.path, external: true })
    build.onLoad({ filter: /.*/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(sourceMapComment, ''),
      loader: 'js'
    }))
  }
}

/** Rewrites the ES module at `path` (and the chunks it imports) to one CommonJS script. */
export async function convertModule (path: string): Promise<ConvertedModule> {
  // Loaded only when a bundle is a module: script and CommonJS bundles never start esbuild.
  const esbuild = await import('esbuild')
  const directory = dirname(path)
  let result
  try {
    result = await esbuild.build({
      entryPoints: [path],
      absWorkingDir: directory,
      outfile: `${path}.cjs`,
      write: false,
      bundle: true,
      format: 'cjs',
      platform: 'neutral',
      // Syntax is left as written: the bundler that made the bundle chose its target.
      target: 'esnext',
      charset: 'utf8',
      sourcemap: 'external',
      metafile: true,
      logLevel: 'silent',
      // ES modules are strict; the script they become must be too.
      banner: { js: '"use strict";' },
      plugins: [bundleFilesOnly]
    })
  } catch (error) {
    const messages = (error as { errors?: Message[] }).errors
    if (!Array.isArray(messages) || messages.length === 0) throw error
    throw new ModuleLoadError(messages.slice(0, 3).map((message) => describeMessage(message, directory)).join('; '))
  }
  const metafile = result.metafile as Metafile
  const files = Object.keys(metafile.inputs).map((input) => resolve(directory, input))
  const unbundled = await staticExternalImports(metafile, directory)
  if (unbundled.length > 0) throw new ModuleLoadError(describeExternals(unbundled))
  const map = result.outputFiles.find((file) => file.path.endsWith('.map'))
  const code = result.outputFiles.find((file) => !file.path.endsWith('.map'))
  if (map === undefined || code === undefined) throw new Error('esbuild returned no output')
  return {
    code: code.text,
    map: map.text,
    files: [path, ...files.filter((file) => file !== path)],
    warnings: result.warnings.map((message) => describeMessage(message, directory))
  }
}

function describeMessage (message: Message, directory: string): string {
  const where = message.location === null
    ? ''
    : ` (at ${displayPath(resolve(directory, message.location.file))}:${message.location.line}:${message.location.column + 1})`
  const hint = /top-level await/i.test(message.text)
    ? ': the plugin runs ES module bundles as CommonJS, which has no top-level await; await inside render instead'
    : ''
  return `${message.text}${where}${hint}`
}

interface ExternalImport {
  specifier: string
  location: CodeLocation | null
}

/**
 * Static imports of something the bundle does not contain (a package or a Node built-in). They would run as
 * `require()` while the bundle loads, and there is no `require`. Dynamic `import('x')` of a package is left alone:
 * it fails only if it runs.
 */
async function staticExternalImports (metafile: Metafile, directory: string): Promise<ExternalImport[]> {
  const found: ExternalImport[] = []
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    const file = resolve(directory, input)
    const specifiers = imports.filter((entry) => entry.external && entry.kind === 'import-statement').map((entry) => entry.path)
    if (specifiers.length === 0) continue
    const text = await readFile(file, 'utf8')
    for (const specifier of new Set(specifiers)) found.push({ specifier, location: findImport(text, file, specifier) })
  }
  return found
}

function findImport (text: string, file: string, specifier: string): CodeLocation | null {
  const quoted = JSON.stringify(specifier).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const match = new RegExp(`(?:\\bimport|\\bfrom)\\s*["']${quoted}["']`).exec(text)
  if (match === null) return null
  // The statement's first character, rather than its `from`.
  const lineStart = text.lastIndexOf('\n', match.index) + 1
  return { file, ...lineAndColumn(text, lineStart + /^\s*/.exec(text.slice(lineStart))![0].length) }
}

const nodeBuiltins = new Set(builtinModules)

function isNodeBuiltin (specifier: string): boolean {
  return specifier.startsWith('node:') || nodeBuiltins.has(specifier.split('/')[0])
}

function describeExternals (unbundled: ExternalImport[]): string {
  const listed = unbundled.slice(0, 5).map(({ specifier, location }) => {
    const where = location === null ? '' : ` (${displayPath(location.file)}:${location.line}:${location.column})`
    return `"${specifier}"${where}`
  }).join(', ')
  const more = unbundled.length > 5 ? ` and ${unbundled.length - 5} more` : ''
  const builtins = unbundled.filter(({ specifier }) => isNodeBuiltin(specifier)).map(({ specifier }) => `"${specifier}"`)
  const hints: string[] = []
  if (builtins.length < unbundled.length) {
    hints.push('bundle every package: with Vite set ssr.noExternal: true; with esbuild, bundle: true and no external')
  }
  if (builtins.length > 0) {
    hints.push(`${builtins.join(', ')} ${builtins.length === 1 ? 'is a Node built-in' : 'are Node built-ins'} the sandbox does not have: ` +
      'resolve the browser or worker builds of the packages that import it (Vite: ssr.target \'webworker\' and ' +
      'resolve.conditions with \'worker\'; Vite logs "Automatically externalized node built-in module" naming the ' +
      'importer), or alias the package that pulls it in to an empty module (see the README, "Building your own server bundle")')
  }
  return `the bundle imports ${listed}${more}, which it does not contain; there is no require() at render time. ` +
    `To fix the build, ${hints.join('; ')}`
}
