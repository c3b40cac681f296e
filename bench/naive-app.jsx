// The "naive" server's renderer: what an application does without the plugin. React and the example's own components
// run in the main thread, and every request calls renderToString from the same entry point the example's server
// bundle uses (react-dom/server.browser), so naive and plugin compare the same renderer. bench/lib/build.mjs bundles
// this file for Node (esbuild, production React); the document around the app is the example's own, so the page is
// byte for byte the same.

import { renderToString } from 'react-dom/server.browser'
import { createRenderPage } from '../examples/shared/document.mjs'
import { App } from '../examples/react/App.jsx'

export const renderPage = createRenderPage((page, data) => renderToString(<App page={page} data={data} />))
