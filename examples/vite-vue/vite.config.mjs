// One config for both builds of the Vue example: `vite build` (the browser bundle, with a manifest) and
// `vite build --ssr src/entry-server.js` (the server bundle for fastify-ssr-engine). The same server settings as
// examples/vite-react; @vitejs/plugin-vue compiles the single-file components for each build and defines Vue's
// compile-time flags.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defaultClientConditions, defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

export function createConfig ({ outDir = resolve(root, 'dist') } = {}) {
  return defineConfig(({ isSsrBuild }) => ({
    root,
    plugins: [vue()],
    // The client build's manifest, which the server entry imports for the hashed asset names.
    resolve: { alias: { '@client-manifest': resolve(outDir, 'client/.vite/manifest.json') } },
    ssr: {
      noExternal: true,
      target: 'webworker',
      resolve: { conditions: ['worker', ...defaultClientConditions] }
    },
    define: isSsrBuild ? { 'process.env.NODE_ENV': '"production"' } : {},
    build: isSsrBuild
      ? { outDir: resolve(outDir, 'server'), emptyOutDir: true }
      : { outDir: resolve(outDir, 'client'), emptyOutDir: true, manifest: true, rolldownOptions: { input: resolve(root, 'src/entry-client.js') } }
  }))
}

export default createConfig()
