// A minimal esbuild plugin for Vue single-file components, enough for the Vue example: <script setup> (JavaScript
// or TypeScript) with a <template>. The template is compiled into the setup function, for SSR in the server bundle
// (Vue's string-pushing render) and for the DOM in the browser bundle. Styles are not handled: the example's CSS is
// a plain stylesheet. A real project would more likely build with Vite and @vitejs/plugin-vue.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { compileScript, parse } from 'vue/compiler-sfc'

export function vueSfcPlugin ({ ssr }) {
  return {
    name: 'vue-sfc',
    setup (build) {
      build.onLoad({ filter: /\.vue$/ }, async ({ path }) => {
        const { descriptor, errors } = parse(await readFile(path, 'utf8'), { filename: path })
        if (errors.length > 0) return { errors: errors.map((error) => ({ text: String(error.message ?? error) })) }
        if (!descriptor.scriptSetup || !descriptor.template || descriptor.styles.length > 0) {
          return { errors: [{ text: `${path}: this plugin compiles only <script setup> with a <template> and no <style>` }] }
        }
        // The same id for the server and client compilations of a file, as Vue expects when hydrating.
        const id = createHash('sha256').update(path).digest('hex').slice(0, 8)
        const script = compileScript(descriptor, { id, isProd: true, inlineTemplate: true, templateOptions: { ssr } })
        return {
          contents: script.content,
          loader: descriptor.scriptSetup.lang === 'ts' ? 'ts' : 'js',
          resolveDir: dirname(path)
        }
      })
    }
  }
}
