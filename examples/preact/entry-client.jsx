// Browser bundle entry: hydrates the server-rendered page with the same page and data, so Preact adopts the
// markup instead of replacing it.
import { hydrate } from 'preact'
import { readEmbeddedData } from '../shared/document.mjs'
import { matchPage } from '../shared/shop.mjs'
import { App } from './App.jsx'
import '../shared/styles.css'

const data = readEmbeddedData()
hydrate(<App page={matchPage(window.location.href, data)} data={data} />, document.getElementById('root'))
// Preact hydrates synchronously, so the listeners are attached by now: tell a person (and the browser test) that
// the page is interactive.
document.documentElement.dataset.hydrated = 'preact'
