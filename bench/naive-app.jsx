// The "naive" server's renderer: what an application does today without the plugin. React and the example's own
// components run in the main thread, and every request calls renderToString. bench/lib/build.mjs bundles this file
// for Node (esbuild, production React); the document around the app is the example's own, so the page is the same.

import { renderToString } from 'react-dom/server'
import { createRenderPage } from '../examples/shared/document.mjs'
import { App } from '../examples/react/App.jsx'

export const renderPage = createRenderPage(async (page, data) => renderToString(<App page={page} data={data} />))
