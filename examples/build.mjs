// Builds each example twice with esbuild: a server bundle for fastify-ssr-engine and a browser bundle for hydration.
//
//   node examples/build.mjs [react|preact|vue ...]     (all three when none is named)
//
// Writes examples/<framework>/dist/server.js and examples/<framework>/dist/client/{client.js,client.css}.
// Tests import buildExample() to build into a temporary directory instead.

import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'
import { vueSfcPlugin } from './vue-sfc-plugin.mjs'

const examplesDir = fileURLToPath(new URL('.', import.meta.url))

// What differs between the frameworks: entries, how JSX or .vue files compile, and the server bundle's format.
// React and Preact use the script (IIFE) contract, Vue the CommonJS one, so both contracts stay exercised.
export const frameworks = {
  react: {
    entries: { server: 'react/entry-server.jsx', client: 'react/entry-client.jsx' },
    serverFormat: 'iife',
    options: () => ({ jsx: 'automatic' })
  },
  preact: {
    entries: { server: 'preact/entry-server.jsx', client: 'preact/entry-client.jsx' },
    serverFormat: 'iife',
    options: () => ({ jsx: 'automatic', jsxImportSource: 'preact' })
  },
  vue: {
    entries: { server: 'vue/entry-server.mjs', client: 'vue/entry-client.mjs' },
    serverFormat: 'cjs',
    options: ({ ssr }) => ({
      plugins: [vueSfcPlugin({ ssr })],
      // Vue's compile-time feature flags; defining them avoids a runtime warning and drops dev-only code.
      define: { __VUE_OPTIONS_API__: 'true', __VUE_PROD_DEVTOOLS__: 'false', __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false' }
    })
  }
}

// Options every build shares. The server bundle runs in a vm context with browser-like globals and no `process`,
// `require` or `Buffer`: so everything is bundled (no externals), resolved with browser conditions, and
// process.env.NODE_ENV is replaced at build time (it also selects the frameworks' production builds).
const common = {
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' }
}

/** Builds one framework's server and client bundles into `outdir` (default examples/<framework>/dist). */
export async function buildExample (name, { outdir = join(examplesDir, name, 'dist') } = {}) {
  const framework = frameworks[name]
  if (!framework) throw new Error(`unknown example "${name}"; expected one of ${Object.keys(frameworks).join(', ')}`)
  const build = (ssr, options) => {
    const own = framework.options({ ssr })
    return esbuild.build({ ...common, ...own, ...options, define: { ...common.define, ...own.define } })
  }
  await Promise.all([
    // Unminified: a stack trace from a failed render should point at readable code.
    build(true, {
      entryPoints: [join(examplesDir, framework.entries.server)],
      outfile: join(outdir, 'server.js'),
      format: framework.serverFormat
    }),
    // Named "client" so the page can link /assets/client.js and /assets/client.css for every framework.
    build(false, {
      entryPoints: { client: join(examplesDir, framework.entries.client) },
      outdir: join(outdir, 'client'),
      format: 'esm',
      minify: true,
      sourcemap: true
    })
  ])
  return outdir
}

async function main (names) {
  for (const name of names.length > 0 ? names : Object.keys(frameworks)) {
    const outdir = await buildExample(name)
    console.log(`built ${name} example into ${outdir}`)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
