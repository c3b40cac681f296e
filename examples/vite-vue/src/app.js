// The app both entries create, one per render on the server: Vue Router's routes and a Pinia store.
import { createSSRApp } from 'vue'
import { createPinia } from 'pinia'
import { createRouter } from 'vue-router'
import App from './App.vue'
import About from './pages/About.vue'
import Home from './pages/Home.vue'
import NotFound from './pages/NotFound.vue'

export function createApp (history) {
  const app = createSSRApp(App)
  const pinia = createPinia()
  const router = createRouter({
    history,
    routes: [
      { path: '/', component: Home },
      { path: '/about', component: About },
      { path: '/:pathMatch(.*)*', name: 'not-found', component: NotFound }
    ]
  })
  app.use(pinia).use(router)
  return { app, pinia, router }
}
