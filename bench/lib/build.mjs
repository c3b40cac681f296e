// Everything the benchmark servers load, built fresh for each run into a temporary directory, so results never
// depend on an old build: the React example (server and client bundles, via examples/build.mjs), the naive renderer
// (bench/naive-app.jsx for Node, with the same React renderer as the example's server bundle), and per page
// (bench/lib/pages.mjs): the reference page, rendered once through the plugin, that the baselines serve and that every
// scenario's response is checked against; its brotli body, made by the plugin's own encoder with its default
// settings (what a cache hit sends with Accept-Encoding: br); and a bundle that returns the page without rendering.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { buildExample } from '../../examples/build.mjs'
import { pages } from './pages.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../../', import.meta.url))

export async function prepareBuild () {
  const dir = await mkdtemp(join(tmpdir(), 'fastify-ssr-bench-'))
  try {
    require.resolve(join(root, 'dist', 'index.js'))
  } catch {
    throw new Error('dist/ is missing: run "npm run build" first (npm run bench does)')
  }
  const reactDist = await buildExample('react', { outdir: join(dir, 'react') })
  const bundle = join(reactDist, 'server.js')
  const naiveBundle = join(dir, 'naive.cjs')
  await esbuild.build({
    entryPoints: [join(root, 'bench', 'naive-app.jsx')],
    outfile: naiveBundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning'
  })
  const { normalizeOptions } = require(join(root, 'dist', 'options', 'index.js'))
  const { encodeBodies } = require(join(root, 'dist', 'render', 'encode.js'))
  const compression = normalizeOptions({ bundle }).compression
  const rendered = await renderReferences(reactDist)
  const references = {}
  for (const [name, html] of Object.entries(rendered)) {
    const identity = Buffer.from(html)
    const br = encodeBodies(html, compression).br
    const paths = { identity: join(dir, `${name}.html`), br: join(dir, `${name}.html.br`), staticBundle: join(dir, `${name}-static.js`) }
    await writeFile(paths.identity, identity)
    if (br !== null) await writeFile(paths.br, br)
    // A script bundle that returns the same page as a constant: through the pool it costs everything but rendering.
    await writeFile(paths.staticBundle, `globalThis.renderPage = async () => ({ html: ${JSON.stringify(html)}, status: 200 })\n`)
    references[name] = { identity, br, paths }
  }
  return {
    dir,
    reactDist,
    bundle,
    naiveBundle,
    references,
    /** What a server process needs to know, as JSON. */
    serverConfig: {
      reactDist,
      naiveBundle,
      references: Object.fromEntries(Object.entries(references).map(([name, ref]) => [name, { identity: ref.paths.identity, br: ref.br === null ? null : ref.paths.br }]))
    },
    cleanup: () => rm(dir, { recursive: true, force: true })
  }
}

/** Each page as the plugin renders it: the example app, never listening, one uncached render per page. */
async function renderReferences (reactDist) {
  const { build } = require(join(root, 'examples', 'react', 'server.js'))
  const app = await build({ dist: reactDist, logger: false, ssr: { threads: 1 } })
  try {
    await app.ready()
    const html = {}
    for (const page of Object.values(pages)) {
      const rendered = await app.ssr.render(page.renderUrl, page.data(), { cache: false })
      if (rendered.status !== 200) throw new Error(`the reference page ${page.path} rendered with status ${rendered.status}`)
      html[page.name] = rendered.html
    }
    return html
  } finally {
    await app.close()
  }
}
