import { defineStore } from 'pinia'

// The page's state: set by the server from the render's data, handed to the browser, changed by the counter.
export const usePageStore = defineStore('page', {
  state: () => ({ name: 'world', count: 0 }),
  actions: { increment () { this.count++ } }
})
