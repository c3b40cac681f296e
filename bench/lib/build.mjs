// Everything the benchmark servers load, built fresh for each run into a temporary directory, so results never
// depend on an old build: the React example (server and client bundles, via examples/build.mjs), the naive renderer
// (bench/naive-app.jsx for Node), the reference page, rendered once through the plugin, that the baseline serves
// and that every scenario's response is checked against, and a bundle that returns that page without rendering.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { buildExample } from '../../examples/build.mjs'
import { pageData, pageUrl } from './page.mjs'

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
  const referencePath = join(dir, 'reference.html')
  const reference = await renderReference(reactDist)
  await writeFile(referencePath, reference)
  // A script bundle that returns the same page as a constant: through the pool it costs everything but rendering.
  const staticBundle = join(dir, 'static-page.js')
  await writeFile(staticBundle, `globalThis.renderPage = async () => ({ html: ${JSON.stringify(reference.toString('utf8'))}, status: 200 })\n`)
  return {
    dir,
    reactDist,
    bundle: join(reactDist, 'server.js'),
    naiveBundle,
    staticBundle,
    referencePath,
    reference,
    cleanup: () => rm(dir, { recursive: true, force: true })
  }
}

/** The product page as the plugin renders it: the example app, never listening, one uncached render. */
async function renderReference (reactDist) {
  const { build } = require(join(root, 'examples', 'react', 'server.js'))
  const app = await build({ dist: reactDist, logger: false, ssr: { threads: 1 } })
  try {
    await app.ready()
    const page = await app.ssr.render(pageUrl, pageData(), { cache: false })
    if (page.status !== 200) throw new Error(`the reference page ${pageUrl} rendered with status ${page.status}`)
    return Buffer.from(page.html)
  } finally {
    await app.close()
  }
}
