// Stands in for the Node-stream packages @emotion/server imports for renderStylesToNodeStream (see vite.config.mjs).
export default {}
