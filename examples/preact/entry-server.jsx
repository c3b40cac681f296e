// Server bundle entry, built as a classic script (IIFE): the plugin evaluates it once per worker and calls
// globalThis.renderPage(url, data) for each page.
import { renderToString } from 'preact-render-to-string'
import { createRenderPage } from '../shared/document.mjs'
import { App } from './App.jsx'

// The page's data is passed in, so nothing suspends: the synchronous renderer is the fastest correct one. An app with
// lazy components or Suspense would use renderToStringAsync.
globalThis.renderPage = createRenderPage((page, data) => renderToString(<App page={page} data={data} />))
