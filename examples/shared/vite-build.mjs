// Builds a Vite example with Vite's JavaScript API: the browser bundle first (its manifest names the hashed files),
// then the server bundle, which imports that manifest. Also the development loop (watch mode) of `npm run dev`.

import { build } from 'vite'

/**
 * The inline config of one of the two builds. `createConfig({ outDir })` is the example's own (its
 * vite.config.mjs), a function of { isSsrBuild } as Vite's config files may be; `ssrEntry` its server entry.
 */
export function buildConfig ({ createConfig, ssrEntry, outDir, ssr, watch = false, logLevel = 'warn' }) {
  const config = createConfig({ outDir })({ command: 'build', mode: 'production', isSsrBuild: ssr })
  return {
    ...config,
    configFile: false,
    logLevel,
    build: {
      ...config.build,
      ...(ssr ? { ssr: ssrEntry } : {}),
      // Rebuilds overwrite in place: emptying the directory first would remove the manifest (and the server
      // bundle) for a moment, and the other watcher, or the plugin's, would read the gap.
      ...(watch ? { watch: {}, emptyOutDir: false } : {})
    }
  }
}

/** Both builds, into `outDir` (client/ and server/). */
export async function buildViteExample ({ createConfig, ssrEntry, outDir, logLevel }) {
  await build(buildConfig({ createConfig, ssrEntry, outDir, ssr: false, logLevel }))
  await build(buildConfig({ createConfig, ssrEntry, outDir, ssr: true, logLevel }))
  return outDir
}

/** Starts a watching build and resolves once its first build is written; later builds are only logged. */
async function watchBuild (options) {
  const watcher = await build(buildConfig({ ...options, watch: true, logLevel: 'info' }))
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
        else console.error(`${options.ssr ? 'server' : 'client'} build failed; the previous bundle keeps serving:`, event.error.message)
      }
    })
  })
}

/**
 * The development loop: both builds in watch mode, and the example's server with the plugin's `watch: true`, so a
 * rewritten server bundle is reloaded into fresh workers. What reloads and what does not: README, "Examples".
 */
export async function runDevLoop ({ createConfig, ssrEntry, outDir, buildApp }) {
  // The browser bundle first: the server bundle imports its manifest.
  const watchers = [
    await watchBuild({ createConfig, ssrEntry, outDir, ssr: false }),
    await watchBuild({ createConfig, ssrEntry, outDir, ssr: true })
  ]
  const app = await buildApp({ dist: outDir, ssr: { watch: true } })
  const close = async () => {
    await Promise.all(watchers.map((watcher) => watcher.close()))
    await app.close()
  }
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, close)
  await app.listen({ host: process.env.HOST || '127.0.0.1', port: Number(process.env.PORT || 3000) })
}
