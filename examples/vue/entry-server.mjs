// Server bundle entry, built as CommonJS: the plugin evaluates it once per worker and calls the exported
// render(url, data) for each page. A fresh app per render, so no state is shared between two users' pages.
import { createSSRApp } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { createRenderPage } from '../shared/document.mjs'
import App from './App.vue'

export const render = createRenderPage((page, data) => renderToString(createSSRApp(App, { page, data })))
