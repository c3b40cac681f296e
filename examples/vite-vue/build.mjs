// Builds the Vue + Vite example (examples/shared/vite-build.mjs): node examples/vite-vue/build.mjs
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildViteExample as build } from '../shared/vite-build.mjs'
import { createConfig } from './vite.config.mjs'

export const exampleDir = fileURLToPath(new URL('.', import.meta.url))
export const ssrEntry = 'src/entry-server.js'

export async function buildViteExample ({ outDir = join(exampleDir, 'dist'), logLevel } = {}) {
  return await build({ createConfig, ssrEntry, outDir, logLevel })
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildViteExample({ logLevel: 'info' }).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
