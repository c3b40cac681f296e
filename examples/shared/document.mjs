// The HTML document around an app, the hydration data inside it, and the bundle's render entry. Shared by the three
// server bundles (and, for readEmbeddedData, their client bundles) so each framework only renders its app.

import { matchPage } from './shop.mjs'

const dataElementId = 'ssr-data'

// Inside <script>, the HTML parser ends the element at the first "</script" and treats "<!--" specially, whatever
// JSON thinks; U+2028/U+2029 are line terminators for older JavaScript parsers. Escaping "<", ">" and "&" as JSON
// \u escapes keeps the text valid JSON with the same value, and leaves no markup the HTML parser could act on.
const unsafeInScript = /[<>&\u2028\u2029]/g
const scriptEscapes = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' }

/** JSON for embedding in a `<script type="application/json">` element. */
export function serializeData (data) {
  return JSON.stringify(data ?? null).replace(unsafeInScript, (character) => scriptEscapes[character])
}

const htmlEscapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (character) => htmlEscapes[character])
}

/**
 * The page sent to the browser. No whitespace around appHtml: the client hydrates #root and expects exactly the
 * markup the server rendered. The empty icon link spares the browser a /favicon.ico request that would 404.
 */
export function renderDocument ({ title, appHtml, data }) {
  return '<!doctype html>\n<html lang="en">\n<head>\n' +
    '<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(title)}</title>\n` +
    '<link rel="icon" href="data:,">\n' +
    '<link rel="stylesheet" href="/assets/client.css">\n' +
    '</head>\n<body>\n' +
    `<div id="root">${appHtml}</div>\n` +
    `<script id="${dataElementId}" type="application/json">${serializeData(data)}</script>\n` +
    '<script type="module" src="/assets/client.js"></script>\n' +
    '</body>\n</html>\n'
}

/**
 * The function the plugin calls, `(url, data) => { html, status }`, around a framework's `renderApp(page, data)`
 * that returns the app's markup, or a promise of it (Vue). The status comes from the page, so an unknown product is
 * sent as a 404. Markup had at once is answered at once: with `threads: 0` the plugin then sends the page within
 * `reply.ssr()`, without a promise in between.
 */
export function createRenderPage (renderApp) {
  return function renderPage (url, data) {
    const pageData = data ?? {}
    const page = matchPage(url, pageData)
    const document = (appHtml) => ({ html: renderDocument({ title: page.title, appHtml, data: pageData }), status: page.status })
    const appHtml = renderApp(page, pageData)
    return typeof appHtml === 'string' ? document(appHtml) : Promise.resolve(appHtml).then(document)
  }
}

/** In the browser: the data the server rendered with, for hydrating the same page. */
export function readEmbeddedData () {
  return JSON.parse(document.getElementById(dataElementId).textContent)
}
