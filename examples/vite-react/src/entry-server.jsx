// The server entry, built by `vite build --ssr` into an ES module (Vite's default) that fastify-ssr-engine loads
// once per worker. It exports render(url, data); the plugin calls it for each page it does not have cached.
import { renderToString } from 'react-dom/server'
import { matchRoutes, StaticRouter } from 'react-router'
import createCache from '@emotion/cache'
import { CacheProvider } from '@emotion/react'
import createEmotionServer from '@emotion/server/create-instance'
// The client build's manifest (the alias is set in vite.config.mjs): the hashed names of the browser bundle and its
// CSS. Imported, so a client rebuild also rebuilds this bundle, which the plugin's watch then reloads.
import manifest from '@client-manifest'
import { serializeData } from '../../shared/document.mjs'
import { App, routes } from './App.jsx'

const client = manifest['src/entry-client.jsx']
const stylesheets = (client.css ?? []).map((file) => `<link rel="stylesheet" href="/${file}">`).join('')

export function render (url, data = {}) {
  // A cache per render: emotion's critical CSS is that of this page only.
  const cache = createCache({ key: 'css' })
  const { extractCriticalToChunks, constructStyleTagsFromChunks } = createEmotionServer(cache)
  // renderToString: the fastest of React's server renderers, and the plugin caches whole pages anyway.
  const appHtml = renderToString(
    <CacheProvider value={cache}>
      <StaticRouter location={url}><App data={data} /></StaticRouter>
    </CacheProvider>
  )
  const styles = constructStyleTagsFromChunks(extractCriticalToChunks(appHtml))
  const matched = matchRoutes(routes(data), url) ?? []
  const status = matched.at(-1)?.route.path === '*' ? 404 : 200
  const html = '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<title>fastify-ssr-engine with Vite</title>\n<link rel="icon" href="data:,">\n' +
    `${stylesheets}${styles}\n</head>\n<body>\n<div id="root">${appHtml}</div>\n` +
    `<script id="ssr-data" type="application/json">${serializeData(data)}</script>\n` +
    `<script type="module" src="/${client.file}"></script>\n</body>\n</html>\n`
  return { html, status }
}
