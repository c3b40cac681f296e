// One config for both builds: `vite build` (the browser bundle, with a manifest) and `vite build --ssr
// src/entry-server.jsx` (the server bundle for fastify-ssr-engine). build.mjs runs both; createConfig() lets the
// tests build into a directory of their own.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defaultClientConditions, defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))
const emptyModule = resolve(root, 'src/empty-module.js')

export function createConfig ({ outDir = resolve(root, 'dist') } = {}) {
  return defineConfig(({ isSsrBuild }) => ({
    root,
    plugins: [react()],
    resolve: {
      alias: {
        // The client build's manifest, which the server entry imports for the hashed asset names.
        '@client-manifest': resolve(outDir, 'client/.vite/manifest.json'),
        // @emotion/server imports these for renderStylesToNodeStream only; they need Node's streams, Buffer and
        // process, which the sandbox does not have. extractCriticalToChunks needs none of them.
        ...(isSsrBuild ? { through: emptyModule, 'html-tokenize': emptyModule, multipipe: emptyModule } : {})
      }
    },
    // The server bundle runs in a vm context with web APIs and no Node: every package bundled, their worker or
    // browser builds ("worker" first: emotion's worker build knows it is not in a browser, so it collects the
    // critical CSS), and NODE_ENV replaced at build time, which also selects React's production build.
    ssr: {
      noExternal: true,
      target: 'webworker',
      resolve: { conditions: ['worker', ...defaultClientConditions] }
    },
    define: isSsrBuild ? { 'process.env.NODE_ENV': '"production"' } : {},
    build: isSsrBuild
      ? { outDir: resolve(outDir, 'server'), emptyOutDir: true }
      : { outDir: resolve(outDir, 'client'), emptyOutDir: true, manifest: true, rolldownOptions: { input: resolve(root, 'src/entry-client.jsx') } }
  }))
}

export default createConfig()
