// Builds the Vite example with Vite's JavaScript API: the browser bundle first (its manifest names the hashed
// files), then the server bundle, which imports that manifest.
//
//   node examples/vite-react/build.mjs        writes examples/vite-react/dist/{client,server}
//
// Tests import buildViteExample() to build into a directory of their own.

import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'vite'
import { createConfig } from './vite.config.mjs'

const exampleDir = fileURLToPath(new URL('.', import.meta.url))

/** The inline config of one of the two builds (`watch` for the development loop, see dev.mjs). */
export function buildConfig ({ outDir, ssr, watch = false, logLevel = 'warn' }) {
  const config = createConfig({ outDir })({ command: 'build', mode: 'production', isSsrBuild: ssr })
  return {
    ...config,
    configFile: false,
    logLevel,
    build: {
      ...config.build,
      ...(ssr ? { ssr: 'src/entry-server.jsx' } : {}),
      // Rebuilds overwrite in place: emptying the directory first would remove the manifest (and the server
      // bundle) for a moment, and the other watcher, or the plugin's, would read the gap.
      ...(watch ? { watch: {}, emptyOutDir: false } : {})
    }
  }
}

export async function buildViteExample ({ outDir = join(exampleDir, 'dist'), logLevel } = {}) {
  await build(buildConfig({ outDir, ssr: false, logLevel }))
  await build(buildConfig({ outDir, ssr: true, logLevel }))
  return outDir
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildViteExample({ logLevel: 'info' }).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
