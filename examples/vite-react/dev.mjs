// The development loop (npm run dev): Vite rebuilds the browser bundle and the server bundle on every change, and
// the plugin's `watch: true` reloads the server bundle into fresh workers once it is rewritten.
//
// - A change under src/ rebuilds both bundles; the server's is reloaded without a restart (its cached pages are
//   dropped). Reload the page in the browser to see it: there is no hot module replacement.
// - A change to the browser bundle rewrites the manifest, which the server bundle imports, so the server bundle is
//   rebuilt too and new pages link the new hashed files.
// - server.js, vite.config.mjs and the plugin's own code are not watched: restart the loop for those.

import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { buildConfig } from './build.mjs'

const exampleDir = fileURLToPath(new URL('.', import.meta.url))
const outDir = join(exampleDir, 'dist')

/** Starts a watching build and resolves once its first build is written; later builds are only logged. */
async function watchBuild (ssr) {
  const watcher = await build(buildConfig({ outDir, ssr, watch: true, logLevel: 'info' }))
  return await new Promise((resolve, reject) => {
    let first = true
    watcher.on('event', (event) => {
      if (event.code === 'BUNDLE_END') event.result?.close?.()
      if (event.code === 'END' && first) {
        first = false
        resolve(watcher)
      }
      if (event.code === 'ERROR') {
        if (first) reject(event.error)
        else console.error(`${ssr ? 'server' : 'client'} build failed; the previous bundle keeps serving:`, event.error.message)
      }
    })
  })
}

async function main () {
  // The browser bundle first: the server bundle imports its manifest.
  const watchers = [await watchBuild(false), await watchBuild(true)]
  const { build: buildApp } = createRequire(import.meta.url)('./server.js')
  const app = await buildApp({ dist: outDir, ssr: { watch: true } })
  const close = async () => {
    await Promise.all(watchers.map((watcher) => watcher.close()))
    await app.close()
  }
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, close)
  await app.listen({ host: process.env.HOST || '127.0.0.1', port: Number(process.env.PORT || 3000) })
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
