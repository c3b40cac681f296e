// Builds the Vite example with Vite's JavaScript API (examples/shared/vite-build.mjs): the browser bundle, then the
// server bundle.
//
//   node examples/vite-react/build.mjs        writes examples/vite-react/dist/{client,server}
//
// Tests import buildViteExample() to build into a directory of their own.

import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildViteExample as build } from '../shared/vite-build.mjs'
import { createConfig } from './vite.config.mjs'

export const exampleDir = fileURLToPath(new URL('.', import.meta.url))
export const ssrEntry = 'src/entry-server.jsx'

export async function buildViteExample ({ outDir = join(exampleDir, 'dist'), logLevel } = {}) {
  return await build({ createConfig, ssrEntry, outDir, logLevel })
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildViteExample({ logLevel: 'info' }).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
