// Browser bundle entry: createSSRApp + mount hydrates the server-rendered markup with the same page and data.
import { createSSRApp } from 'vue'
import { readEmbeddedData } from '../shared/document.mjs'
import { matchPage } from '../shared/shop.mjs'
import App from './App.vue'
import '../shared/styles.css'

const data = readEmbeddedData()
createSSRApp(App, { page: matchPage(window.location.href, data), data }).mount('#root')
// Vue hydrates synchronously in mount(), so the listeners are attached by now: tell a person (and the browser
// test) that the page is interactive.
document.documentElement.dataset.hydrated = 'vue'
