// Browser bundle entry: hydrates the server-rendered page with the same page and data, so React adopts the markup
// instead of replacing it.
import { useEffect } from 'react'
import { hydrateRoot } from 'react-dom/client'
import { readEmbeddedData } from '../shared/document.mjs'
import { matchPage } from '../shared/shop.mjs'
import { App } from './App.jsx'
import '../shared/styles.css'

// Effects run only once hydration has committed: the attribute tells a person (and the browser test) that the
// page is interactive now. It sits on <html>, outside React's markup, so it cannot cause a mismatch.
function MarkHydrated ({ children }) {
  useEffect(() => { document.documentElement.dataset.hydrated = 'react' }, [])
  return children
}

const data = readEmbeddedData()
const page = matchPage(window.location.href, data)
hydrateRoot(document.getElementById('root'), <MarkHydrated><App page={page} data={data} /></MarkHydrated>)
