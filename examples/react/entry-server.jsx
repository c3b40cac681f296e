// Server bundle entry, built as a classic script (IIFE): the plugin evaluates it once per worker and calls
// globalThis.renderPage(url, data) for each page.
import { renderToReadableStream } from 'react-dom/server.browser'
import { createRenderPage } from '../shared/document.mjs'
import { App } from './App.jsx'

// The web-streams renderer, because the sandbox has web APIs and no Node streams. allReady waits for every Suspense
// boundary, so the cached page is complete rather than a streamed shell.
async function renderApp (page, data) {
  const stream = await renderToReadableStream(<App page={page} data={data} />)
  await stream.allReady
  return readAll(stream)
}

async function readAll (stream) {
  const decoder = new TextDecoder()
  let html = ''
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read()
    if (done) return html + decoder.decode()
    html += decoder.decode(value, { stream: true })
  }
}

globalThis.renderPage = createRenderPage(renderApp)
