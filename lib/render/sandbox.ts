import vm from 'node:vm'
import { bindIntrinsics, isRedeclaration } from './intrinsics'
import { createBrowserGlobals, createLocation, createServerThreadGlobals, createWebGlobals, MemoryStorage } from './polyfills'

/**
 * One vm context per worker with the bundle evaluated once. The context isolates state (globals, prototypes),
 * not trust: the bundle is the application's own code and can reach the worker's realm through any injected object.
 */
export interface Sandbox {
  /** What the bundle's render function returned (a result or a promise of one); throws what it throws. */
  render (url: string, data: unknown): unknown
}

export interface SandboxOptions {
  source: string
  filename: string
  renderFunction: string
  globals: Record<string, unknown>
  /** Adds inert `window`, `document`, `location`, storages… (see polyfills.ts). */
  browserGlobals: boolean
  cachedData?: Buffer
  /** The sandbox lives in the server's main thread (`threads: 0`): its timers and ports must not hold the process. */
  serverThread?: boolean
  /**
   * Milliseconds the bundle's evaluation may take before it is interrupted (a load error). For the main thread, where
   * no worker can be stopped instead; a worker's load is bounded by the pool terminating it.
   */
  loadTimeoutMs?: number
}

// The origin `location` reports; fixed, because a Host header is the client's to choose and pages are shared.
const origin = 'http://localhost'

type RenderFn = (url: string, data: unknown) => unknown

function pickRenderFunction (context: Record<string, unknown>, exported: unknown, renderFunction: string): RenderFn | null {
  const fromGlobal = context[renderFunction]
  if (typeof fromGlobal === 'function') return fromGlobal as RenderFn
  if (typeof exported === 'function') return exported as RenderFn
  if (exported !== null && typeof exported === 'object') {
    const exports = exported as Record<string, unknown>
    for (const name of [renderFunction, 'render', 'renderPage', 'default']) {
      if (typeof exports[name] === 'function') return exports[name] as RenderFn
    }
  }
  return null
}

/** Evaluates the bundle in a fresh context; throws with a readable cause when it cannot render. */
export function createSandbox (options: SandboxOptions): Sandbox {
  const { browserGlobals } = options
  let loaded: Loaded
  try {
    loaded = evaluate(options, true)
  } catch (error) {
    // A bundle declaring one of the bound names: evaluated again without bindings, as nothing of it ran.
    if (!(error instanceof Redeclaration)) throw error
    loaded = evaluate(options, false)
  }
  const { context, module } = loaded

  const render = pickRenderFunction(context, module.exports, options.renderFunction)
  if (render === null) {
    throw new Error(`no render function found: set globalThis.${options.renderFunction} or export render, renderPage or default`)
  }

  return {
    render (url, data) {
      if (browserGlobals) {
        context.location = createLocation(url, origin)
        context.localStorage = new MemoryStorage()
        context.sessionStorage = new MemoryStorage()
      }
      return render(url, data)
    }
  }
}

interface Loaded {
  context: Record<string, unknown>
  module: { exports: unknown }
}

/** The bundle's top level collided with a binding of intrinsics.ts before any of it ran. */
class Redeclaration extends Error {}

function evaluate (options: SandboxOptions, bind: boolean): Loaded {
  const globals = {
    ...createWebGlobals(),
    ...(options.serverThread === true ? createServerThreadGlobals() : {}),
    ...(options.browserGlobals ? createBrowserGlobals() : {}),
    ...structuredClone(options.globals)
  }
  const provided = new Set(Object.keys(globals))
  const context = vm.createContext(globals, { name: `ssr:${options.filename}` }) as Record<string, unknown>
  if (options.browserGlobals) vm.runInContext('globalThis.window = globalThis; globalThis.self = globalThis', context)
  const bindings = bind ? bindIntrinsics(context, options.source, provided) : null

  // `module`/`exports` exist only while the bundle evaluates, so CommonJS bundles can export their render
  // function; afterwards the context holds no Node-flavoured globals the user did not ask for.
  const module = { exports: {} as unknown }
  context.module = module
  context.exports = module.exports
  const script = new vm.Script(options.source, { filename: options.filename, cachedData: options.cachedData })
  try {
    script.runInContext(context, options.loadTimeoutMs === undefined ? undefined : { timeout: options.loadTimeoutMs })
  } catch (error) {
    if (bindings !== null && isRedeclaration(error, bindings)) throw new Redeclaration()
    throw error
  } finally {
    delete context.module
    delete context.exports
  }
  bindings?.resync()
  return { context, module }
}

/** Compiles the bundle once in the main thread: a syntax check before any worker starts, and a code cache for them. */
export function compileBundle (source: string, filename: string): Buffer {
  return new vm.Script(source, { filename }).createCachedData()
}
