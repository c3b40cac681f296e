// The entry of ES module consumers. `import ssrPlugin from 'fastify-ssr-engine'` in an ES module (TypeScript's
// `module: nodenext`) must type as the plugin itself; through the CommonJS declarations it would type as the whole
// `module.exports` object. This file re-exports the one CommonJS implementation, so both entries hand out the very
// same plugin object (no dual-package hazard).
import cjs from './index.js'

/** The plugin: `fastify.register(ssrPlugin, { bundle })`. */
const ssrPlugin: typeof cjs.default = cjs.default
/** Every `FST_SSR_*` error, as constructors with their codes. */
const errors: typeof cjs.errors = cjs.errors

export default ssrPlugin
export { ssrPlugin, errors }
export type * from './index.js'
