import vm from 'node:vm'

/**
 * Fast reads of the language's globals in the bundle's context. In a vm context (Node 20) every read of a global
 * by the bundle (`JSON`, `Object`, `Symbol`, `encodeURIComponent`…) goes through the context's interceptors, in C++,
 * on every read: a loop calling `encodeURIComponent` ran 3.6× slower in a context than in an ordinary realm, and the
 * React example's listing spent half as long again in its own code as the same code in the main realm (measured
 * in-process, 2026-12-02; with the bindings, the same time). A `let` declared by a script of the context, before
 * the bundle runs, is a binding of the context's script scope, which later scripts' code reads as fast as any
 * variable: so each of these globals gets one, holding the context's own value.
 *
 * What it changes for a bundle, and how that is kept invisible:
 * - a bundle that declares one of these names at its top level (`var Map`, `function Symbol`) could not be
 *   evaluated beside the binding: such names are left unbound, and a bundle that still collides (a destructuring
 *   declaration) is evaluated again in a fresh context with no bindings (sandbox.ts);
 * - a bundle that assigns one (a polyfill: `globalThis.Promise = …`, `Map = …`) keeps that name unbound, and any
 *   global the bundle replaced while it loaded, however, is copied into its binding afterwards (`resync`). A global
 *   replaced later, during a render, is read through the old binding: replacing JavaScript's own globals at render
 *   time is not something a bundle can expect to work here.
 */

/** The configurable globals of a fresh context: JavaScript's own, nothing of Node's or the plugin's. */
const languageGlobals: readonly string[] = vm.runInContext(
  'Object.getOwnPropertyNames(globalThis).filter((name) => Object.getOwnPropertyDescriptor(globalThis, name).configurable)',
  vm.createContext({})
)

// globalThis and eval keep their special meanings unbound (`eval(…)` must stay a direct eval); console is the host's.
const neverBound = new Set(['globalThis', 'eval', 'console'])

export interface IntrinsicBindings {
  readonly names: readonly string[]
  /** After the bundle has loaded: copies into its binding any global the bundle replaced while loading. */
  resync (): void
}

/**
 * Declares the bindings in `context`, before the bundle runs. `provided`: globals the context got from the plugin or
 * the user (options.globals), which stay as they are.
 */
export function bindIntrinsics (context: vm.Context, source: string, provided: ReadonlySet<string>): IntrinsicBindings {
  const candidates = languageGlobals.filter((name) => !neverBound.has(name) && !provided.has(name))
  const touched = touchedBy(source, candidates)
  const names = candidates.filter((name) => !touched.has(name))
  if (names.length === 0) return { names, resync () {} }
  vm.runInContext(`let ${names.map((name) => `${name} = globalThis.${name}`).join(', ')};`, context, { filename: 'ssr:intrinsics' })
  const resync = names.map((name) => `if (${name} !== globalThis.${name}) ${name} = globalThis.${name};`).join('\n')
  return { names, resync: () => { vm.runInContext(resync, context, { filename: 'ssr:intrinsics' }) } }
}

/** Names the source declares (`var Map`, `class Symbol`) or assigns (`Promise = `, `.Promise =`) anywhere. */
function touchedBy (source: string, names: readonly string[]): Set<string> {
  const alternatives = names.join('|')
  const pattern = new RegExp(`\\b(?:var|let|const|function|class)\\s+(${alternatives})\\b|\\b(${alternatives})\\s*=(?![=>])`, 'g')
  const touched = new Set<string>()
  for (const match of source.matchAll(pattern)) touched.add(match[1] ?? match[2])
  return touched
}

/** The SyntaxError of a bundle whose top-level declaration collides with a binding. */
export function isRedeclaration (error: unknown, bindings: IntrinsicBindings): boolean {
  // Read by shape: the error comes from the context's realm.
  if ((error as { name?: unknown } | null)?.name !== 'SyntaxError') return false
  const name = /Identifier '([^']+)' has already been declared/.exec(String((error as { message?: unknown }).message))?.[1]
  return name !== undefined && bindings.names.includes(name)
}
