// The server entry, built by `vite build --ssr` into an ES module that fastify-ssr-engine loads once per worker.
import { renderToString } from 'vue/server-renderer'
import { createMemoryHistory } from 'vue-router'
// The client build's manifest (alias in vite.config.mjs): the hashed names of the browser bundle and its CSS.
import manifest from '@client-manifest'
import { serializeData } from '../../shared/document.mjs'
import { createApp } from './app.js'
import { usePageStore } from './store.js'

const client = manifest['src/entry-client.js']
const stylesheets = (client.css ?? []).map((file) => `<link rel="stylesheet" href="/${file}">`).join('')

export async function render (url, data = {}) {
  // An app, router and store per render: nothing of one user's page reaches the next.
  const { app, pinia, router } = createApp(createMemoryHistory())
  usePageStore(pinia).name = data.name ?? 'world'
  await router.push(url)
  await router.isReady()
  const appHtml = await renderToString(app)
  const status = router.currentRoute.value.name === 'not-found' ? 404 : 200
  const html = '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<title>fastify-ssr-engine with Vue and Vite</title>\n<link rel="icon" href="data:,">\n' +
    `${stylesheets}\n</head>\n<body>\n<div id="app">${appHtml}</div>\n` +
    // Pinia's state, so the browser's store starts where the server's ended.
    `<script id="ssr-data" type="application/json">${serializeData(pinia.state.value)}</script>\n` +
    `<script type="module" src="/${client.file}"></script>\n</body>\n</html>\n`
  return { html, status }
}
