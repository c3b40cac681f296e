// The browser entry, built by `vite build` with a manifest: the same app, router and store, the store filled with
// the state the server rendered with, then mounted onto the server's markup (hydration).
import { createWebHistory } from 'vue-router'
import { readEmbeddedData } from '../../shared/document.mjs'
import { createApp } from './app.js'

const { app, pinia, router } = createApp(createWebHistory())
pinia.state.value = readEmbeddedData()
router.isReady().then(() => app.mount('#app'))
