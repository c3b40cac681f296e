import { builtinModules } from 'node:module'

/**
 * One sentence on how to fix the build, for the load errors a bundle made for Node (rather than for the sandbox)
 * runs into. The sandbox has web APIs and no Node powers; each of these means a Node build of something was bundled,
 * or something was left outside the bundle.
 */

const bundleEverything = 'with Vite set ssr.noExternal: true; with esbuild use bundle: true without external or packages: \'external\''
const browserBuilds = 'resolve browser or worker builds (Vite: ssr.target \'webworker\' and resolve.conditions with \'worker\'; ' +
  'esbuild: platform \'browser\' and conditions [\'worker\'])'
const nodeModules = new Set(builtinModules.filter((name) => !name.startsWith('_')))

const hints: Array<[RegExp, (match: RegExpExecArray) => string]> = [
  [/^process is not defined$/, () => 'There is no process in the sandbox: replace process.env.NODE_ENV at build time ' +
    '(Vite and esbuild: define: { \'process.env.NODE_ENV\': \'"production"\' }), and any other process.env.X the same way; ' +
    `a package that still reads process is its Node build: ${browserBuilds}.`],
  [/^Buffer is not defined$/, () => `Buffer is Node's: a package's Node build was bundled; ${browserBuilds}.`],
  [/^(?:global|__dirname|__filename) is not defined$/, () => `A Node build was bundled; ${browserBuilds}, or define global as globalThis.`],
  [/^require is not defined$/, () => `The bundle still calls require(): something was left external; ${bundleEverything}.`],
  [/^Dynamic require of "(.+)" is not supported$/, (match) => nodeModules.has(match[1].replace(/^node:/, '').split('/')[0])
    ? `"${match[1]}" is a Node built-in the sandbox does not have: ${browserBuilds}, or alias the package that requires it to an empty module.`
    : `"${match[1]}" was left outside the bundle: ${bundleEverything}.`],
  [/^(window|document|navigator|location|localStorage|sessionStorage|self|history|requestAnimationFrame|matchMedia) is not defined$/,
    () => 'Browser globals are off by default, so that libraries take their server code paths: guard the access ' +
      '(typeof window !== \'undefined\'), or register the plugin with browserGlobals: true.'],
  // An IIFE build turns each external import into a global of the same name: `stream is not defined`.
  [/^(\w+) is not defined$/, (match) => nodeModules.has(match[1])
    ? `"${match[1]}" is a Node built-in left external (a script build reads it as a global): ${browserBuilds}, or alias the package that imports it to an empty module.`
    : '']
]

/** The hint for a load error's message (the first that applies), or '' when there is none. */
export function loadErrorHint (message: string): string {
  for (const [pattern, explain] of hints) {
    const match = pattern.exec(message)
    const hint = match === null ? '' : explain(match)
    if (hint !== '') return hint
  }
  return ''
}

/** Said after "no render function found": the usual reason is an IIFE build that dropped the entry's exports. */
export const noRenderFunctionHint = 'A script (IIFE) build drops the entry\'s exports (Vite warns ' +
  'MISSING_NAME_OPTION_FOR_IIFE_EXPORT): build an ES module (Vite\'s default) or CommonJS, or set the global in the entry.'
