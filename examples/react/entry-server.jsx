// Server bundle entry, built as a classic script (IIFE): the plugin evaluates it once per worker and calls
// globalThis.renderPage(url, data) for each page.
import { renderToString } from 'react-dom/server.browser'
import { createRenderPage } from '../shared/document.mjs'
import { App } from './App.jsx'

// The page's data is passed in, so nothing suspends and there is nothing to stream: renderToString is the fastest
// correct renderer (several times cheaper than renderToReadableStream + allReady for the same page; see the README's
// "Choosing a renderer"). An app that suspends on data of its own would use prerender from react-dom/static.browser.
globalThis.renderPage = createRenderPage((page, data) => renderToString(<App page={page} data={data} />))
