// Server bundle entry, built as a classic script (IIFE): the plugin evaluates it once per worker and calls
// globalThis.renderPage(url, data) for each page.
import { renderToStringAsync } from 'preact-render-to-string'
import { createRenderPage } from '../shared/document.mjs'
import { App } from './App.jsx'

// The async renderer waits for lazy components and Suspense, so the cached page is complete.
globalThis.renderPage = createRenderPage((page, data) => renderToStringAsync(<App page={page} data={data} />))
