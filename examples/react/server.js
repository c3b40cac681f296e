'use strict'
// The React example's server. Build first (npm run build:examples -- react), then: node examples/react/server.js
const { join } = require('node:path')
const { buildApp, start } = require('../shared/app.js')

/** The app, not yet listening; tests start it on port 0 (and may pass another `dist`). Options as in buildApp. */
function build (options = {}) {
  return buildApp({ dist: join(__dirname, 'dist'), ...options })
}

if (require.main === module) {
  start(build).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

module.exports = { build }
