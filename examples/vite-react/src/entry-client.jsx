// The browser entry, built by `vite build` with a manifest: hydrates the server's markup with the same data and
// the same emotion cache key, so React adopts the markup and emotion reuses the server's style elements.
import { hydrateRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router'
import createCache from '@emotion/cache'
import { CacheProvider } from '@emotion/react'
import { readEmbeddedData } from '../../shared/document.mjs'
import { App } from './App.jsx'

const cache = createCache({ key: 'css' })
hydrateRoot(document.getElementById('root'),
  <CacheProvider value={cache}>
    <BrowserRouter><App data={readEmbeddedData()} /></BrowserRouter>
  </CacheProvider>
)
