'use strict'
// The Vue + Vite example's server (examples/shared/vite-app.js). Build first (npm run example:vite-vue does both),
// or run the development loop: npm run dev.
const { join } = require('node:path')
const { buildViteApp } = require('../shared/vite-app.js')
const { start } = require('../shared/app.js')

/** The app, not yet listening; tests start it on port 0 (and pass another `dist`). Options as in buildViteApp. */
function build (options = {}) {
  return buildViteApp({ dist: join(__dirname, 'dist'), ...options })
}

if (require.main === module) {
  start(build).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

module.exports = { build }
