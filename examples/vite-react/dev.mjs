// The development loop (npm run dev): Vite rebuilds the browser and server bundles on every change, and the
// plugin's `watch: true` reloads the server bundle. What reloads and what does not: README, "Examples".
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { runDevLoop } from '../shared/vite-build.mjs'
import { exampleDir, ssrEntry } from './build.mjs'
import { createConfig } from './vite.config.mjs'

const { build: buildApp } = createRequire(import.meta.url)('./server.js')

runDevLoop({ createConfig, ssrEntry, outDir: join(exampleDir, 'dist'), buildApp }).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
